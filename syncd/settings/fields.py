"""Which Thulium fields a mapping may target.

Thulium silently creates unknown custom fields and ignores unknown top-level keys, so a
typo in a mapping would go unnoticed; checking targets at load time catches it early.
"""

from __future__ import annotations

# The parts POST/PUT customers take; reads also list post_office, borough, county and voivodship, which no
# write sets, so a mapping of them could never be applied (and a full reconcile would "repair" it forever).
ADDRESS_PARTS = frozenset({"street", "building", "flat", "postcode", "city", "country"})
READ_ONLY_ADDRESS_PARTS = frozenset({"post_office", "borough", "county", "voivodship"})
ADDRESS_FIELDS = frozenset({"address", "invoice_address", "mail_drop_address"})

CUSTOMER_FIELDS = frozenset(
    {
        "name",
        "surname",
        "email",
        "phone_number",
        "type",
        "group",
        "gender",
        "homepage",
        "birthdate",
        "nip",
        "note",
        "pesel",
        "job",
        "job_title",
        "account_manager",
        "vip",
    }
)
COMPANY_FIELDS = frozenset(
    {
        "name",
        "nip",
        "email",
        "phone_number",
        "type",
        "group",
        "note",
        "account_manager",
        "vip",
    }
)
# Set by syncd itself: a mapping must not override them.
RESERVED_FIELDS = frozenset({"identifier", "company_id", "customer_id"})

CUSTOM_PREFIX = "custom_fields."


def target_problem(target: str, allowed: frozenset[str]) -> str | None:
    """Return why ``target`` is not a valid Thulium field name, or None when it is."""
    if target in RESERVED_FIELDS:
        return f"'{target}' is set by syncd and cannot be mapped"
    if target.startswith(CUSTOM_PREFIX):
        return None if target[len(CUSTOM_PREFIX) :].strip() else "custom field name is empty"
    head, dot, part = target.partition(".")
    if dot:
        if head not in ADDRESS_FIELDS:
            return (
                f"unknown nested field '{target}' "
                "(expected address.*, invoice_address.* or mail_drop_address.*)"
            )
        if part in READ_ONLY_ADDRESS_PARTS:
            return (
                f"Thulium lists address part '{part}' on reads but takes none on writes "
                f"(it takes {', '.join(sorted(ADDRESS_PARTS))})"
            )
        if part not in ADDRESS_PARTS:
            return f"unknown address part '{part}' (expected one of {', '.join(sorted(ADDRESS_PARTS))})"
        return None
    if target not in allowed:
        return (
            f"unknown Thulium field '{target}' (expected one of {', '.join(sorted(allowed))}, "
            "address.<part> or custom_fields.<Name>)"
        )
    return None
