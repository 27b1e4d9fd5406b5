"""Process settings and tenant files."""

from syncd.settings.errors import ConfigError, ConfigProblem
from syncd.settings.loader import Tenant, load_tenant, load_tenants, parse_tenant_file
from syncd.settings.process import ProcessSettings
from syncd.settings.tenant import TenantFile

__all__ = [
    "ConfigError",
    "ConfigProblem",
    "ProcessSettings",
    "Tenant",
    "TenantFile",
    "load_tenant",
    "load_tenants",
    "parse_tenant_file",
]
