"""The Thulium API by resource, each over the one request path (``syncd.thulium.session``).

``ThuliumClient`` builds one of each; a resource says what to ask and how to read the answer, never how a
request is sent, retried or judged.
"""

from syncd.thulium.resources.campaign_records import CampaignRecords
from syncd.thulium.resources.companies import Companies
from syncd.thulium.resources.custom_fields import CustomFields
from syncd.thulium.resources.customers import Customers
from syncd.thulium.resources.outbounds import Campaigns
from syncd.thulium.resources.records import Filters, Includes, Records
from syncd.thulium.resources.reports import Reports

__all__ = [
    "CampaignRecords",
    "Campaigns",
    "Companies",
    "CustomFields",
    "Customers",
    "Filters",
    "Includes",
    "Records",
    "Reports",
]
