"""The Thulium REST API: an httpx client with typed methods, response/request schemas and the retry policy.

Whole-request status handling lives in ``status`` (one table); per-item 207 results are parsed into
``ItemResult`` and judged by the engine, not here.
"""

from syncd.thulium.client import Payload, RequestGate, ThuliumClient, Timeouts
from syncd.thulium.errors import (
    ErrorDetail,
    OutcomeUnknown,
    ThuliumAPIError,
    ThuliumAuthError,
    ThuliumError,
    ThuliumNotFound,
    ThuliumPermanentError,
    ThuliumProtocolError,
    ThuliumRejected,
    ThuliumUnavailable,
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
    "RetryPolicy",
    "ThuliumAPIError",
    "ThuliumAuthError",
    "ThuliumClient",
    "ThuliumError",
    "ThuliumNotFound",
    "ThuliumPermanentError",
    "ThuliumProtocolError",
    "ThuliumRejected",
    "ThuliumUnavailable",
    "Timeouts",
]
