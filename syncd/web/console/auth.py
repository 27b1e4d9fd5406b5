"""Who is asking the console, and what they may do: a read-only viewer or an operator.

Off unless a credential is configured (``SYNCD_CONSOLE_*``): `syncd web` binds 127.0.0.1 by
default, and a console that asked for a password nobody set would only be worked around. Once
any credential is set, every console page needs one. HTTP Basic and bearer tokens are both
compared in constant time (``syncd.web.basic_auth``), so a guess learns nothing from timing.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from enum import StrEnum

from pydantic import SecretStr

from syncd.settings import ProcessSettings
from syncd.web.basic_auth import authorized


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"


@dataclass(frozen=True)
class Principal:
    name: str  # the user, or the role of a bearer token; what the CSRF token is bound to
    role: Role

    @property
    def may_act(self) -> bool:
        return self.role is Role.OPERATOR


ANONYMOUS = Principal("anonymous", Role.OPERATOR)  # auth off: the console is the operator's own


@dataclass(frozen=True)
class ConsoleAuth:
    operator_user: str
    operator_password: str
    viewer_user: str
    viewer_password: str
    operator_token: str
    viewer_token: str

    @classmethod
    def from_settings(cls, settings: ProcessSettings) -> ConsoleAuth:
        return cls(
            settings.console_operator_user,
            _secret(settings.console_operator_password),
            settings.console_viewer_user,
            _secret(settings.console_viewer_password),
            _secret(settings.console_operator_token),
            _secret(settings.console_viewer_token),
        )

    @property
    def enabled(self) -> bool:
        return bool(self.secrets)

    @property
    def challenge(self) -> str:
        """What a 401 asks for: a browser offers a login box for Basic only, so only when one can work."""
        if self.operator_password or self.viewer_password:
            return 'Basic realm="syncd console"'
        return 'Bearer realm="syncd console"'

    @property
    def secrets(self) -> tuple[str, ...]:
        secrets = (self.operator_password, self.viewer_password, self.operator_token, self.viewer_token)
        return tuple(secret for secret in secrets if secret)

    def principal(self, authorization: str | None) -> Principal | None:
        """The caller, or None when credentials are required and these are not valid ones."""
        if not self.enabled:
            return ANONYMOUS
        scheme, _, token = (authorization or "").strip().partition(" ")
        if scheme.lower() == "bearer":
            return self._bearer(token.strip())
        if self.operator_password and authorized(authorization, self.operator_user, self.operator_password):
            return Principal(self.operator_user, Role.OPERATOR)
        if self.viewer_password and authorized(authorization, self.viewer_user, self.viewer_password):
            return Principal(self.viewer_user, Role.VIEWER)
        return None

    def _bearer(self, token: str) -> Principal | None:
        given = token.encode("utf-8")
        # both compared whatever the first gave, so timing does not tell which role a token nearly matched
        operator = bool(self.operator_token) and _same(given, self.operator_token)
        viewer = bool(self.viewer_token) and _same(given, self.viewer_token)
        if operator:
            return Principal("operator-token", Role.OPERATOR)
        if viewer:
            return Principal("viewer-token", Role.VIEWER)
        return None


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


def _same(given: bytes, expected: str) -> bool:
    return hmac.compare_digest(hashlib.sha256(given).digest(), hashlib.sha256(expected.encode()).digest())
