"""The Thulium REST API: an httpx client by resource (``client.customers.get(13)``), response/request
schemas and the retry policy.

Every request goes through one path (``session``); whole-request status handling lives in ``status`` (one
table); per-item 207 results are parsed into ``ItemResult`` and judged by the engine, not here. The resource
classes themselves are in ``syncd.thulium.resources``.
"""

from syncd.thulium.client import ThuliumClient
from syncd.thulium.encoding import Payload
from syncd.thulium.errors import (
    ErrorDetail,
    OutcomeUnknown,
    ThuliumAPIError,
    ThuliumAuthError,
    ThuliumError,
    ThuliumGatewayError,
    ThuliumNotFound,
    ThuliumPermanentError,
    ThuliumProtocolError,
    ThuliumRejected,
    ThuliumRequestTooLarge,
    ThuliumUnavailable,
    TransientFailure,
)
from syncd.thulium.retry import RetryPolicy
from syncd.thulium.schemas import (
    Address,
    AddressPayload,
    CampaignRecord,
    CampaignRecordPayload,
    Company,
    CompanyIds,
    CompanyPayload,
    Connection,
    Customer,
    CustomerPayload,
    CustomerUpdate,
    CustomField,
    CustomFieldGroup,
    ItemResult,
    Outbound,
    OutboundStats,
    OutboundStatus,
    Page,
)
from syncd.thulium.session import RequestGate, RequestObserver, Timeouts

__all__ = [
    "Address",
    "AddressPayload",
    "CampaignRecord",
    "CampaignRecordPayload",
    "Company",
    "CompanyIds",
    "CompanyPayload",
    "Connection",
    "CustomField",
    "CustomFieldGroup",
    "Customer",
    "CustomerPayload",
    "CustomerUpdate",
    "ErrorDetail",
    "ItemResult",
    "Outbound",
    "OutboundStats",
    "OutboundStatus",
    "OutcomeUnknown",
    "Page",
    "Payload",
    "RequestGate",
    "RequestObserver",
    "RetryPolicy",
    "ThuliumAPIError",
    "ThuliumAuthError",
    "ThuliumClient",
    "ThuliumError",
    "ThuliumGatewayError",
    "ThuliumNotFound",
    "ThuliumPermanentError",
    "ThuliumProtocolError",
    "ThuliumRejected",
    "ThuliumRequestTooLarge",
    "ThuliumUnavailable",
    "Timeouts",
    "TransientFailure",
]
