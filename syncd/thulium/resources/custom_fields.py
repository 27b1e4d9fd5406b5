"""``client.custom_fields``: the customer custom fields that exist — what mappings are checked against,
since Thulium creates any unknown name it is sent."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import TypeAdapter

from syncd.thulium.parsing import validate
from syncd.thulium.schemas import CustomFieldGroup
from syncd.thulium.session import Resource

_GROUPS = TypeAdapter(list[CustomFieldGroup])


class CustomFields(Resource):
    def groups(self) -> list[CustomFieldGroup]:
        """``GET customer_field_groups`` (no documented shape: a bare list or a ``{count, result}``
        envelope)."""
        data = self._session.get("GET customer_field_groups", "customer_field_groups")
        if isinstance(data, Mapping) and "result" in data:
            data = data["result"]
        return validate(_GROUPS, data, "GET", "customer_field_groups")

    def names(self) -> set[str]:
        """Names of the customer custom fields that exist."""
        return {f.name for g in self.groups() for f in g.fields}
