"""CSRF tokens for the console's forms: an HMAC of the caller's name, checked on every POST.

A cross-site page can make a browser POST with the operator's Basic credentials attached, but
cannot read the console's pages, so it cannot know the token. The token is bound to the caller
(a viewer's token is not an operator's) and to the key, which is ``SYNCD_CONSOLE_SECRET`` or
random per process. A POST whose ``Origin`` names another site is refused before the token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from syncd.settings import ProcessSettings
from syncd.web.console.auth import Principal

FIELD = "csrf_token"


class CsrfKey:
    def __init__(self, settings: ProcessSettings) -> None:
        configured = settings.console_secret.get_secret_value() if settings.console_secret else ""
        self._key = configured.encode("utf-8") if configured else secrets.token_bytes(32)

    def token(self, principal: Principal) -> str:
        message = f"{principal.role}:{principal.name}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def valid(self, principal: Principal, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(self.token(principal), given)


def same_origin(origin: str | None, host: str | None) -> bool:
    """No ``Origin`` (an old browser, curl) passes to the token check; a foreign one is refused."""
    if not origin:
        return True
    if origin == "null" or host is None:
        return False
    return origin.split("://", 1)[-1] == host
