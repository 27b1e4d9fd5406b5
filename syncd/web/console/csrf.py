"""CSRF tokens for the console's forms, and the signature of the notice shown after an action.

A cross-site page can make a browser POST with the operator's Basic credentials attached, but
cannot read the console's pages, so it cannot know the token. The token is an HMAC of the caller
(a viewer's token is not an operator's) under a key that is ``SYNCD_CONSOLE_SECRET`` or random per
process. A POST whose ``Origin`` names another site is refused before the token is looked at.
Notices are signed under a key derived apart from every token, so no caller holds the signing key.
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
        return self._mac(f"csrf:{principal.role}:{principal.name}")

    def valid(self, principal: Principal, given: str | None) -> bool:
        return given is not None and _same(self.token(principal), given)

    def sign(self, notice: str) -> str:
        return self._mac(f"notice:{notice}")[:32]

    def signed(self, notice: str, signature: str) -> bool:
        return bool(notice) and _same(self.sign(notice), signature)

    def _mac(self, message: str) -> str:
        return hmac.new(self._key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def _same(expected: str, given: str) -> bool:
    """Bytes, not str: ``compare_digest`` refuses a non-ASCII str, and a forged value may be one."""
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8", "replace"))


def same_origin(origin: str | None, host: str | None, scheme: str) -> bool:
    """No ``Origin`` (an old browser, curl) passes to the token check; a foreign one is refused."""
    if not origin:
        return True
    if origin == "null" or host is None:
        return False
    return origin.lower() == f"{scheme}://{host}".lower()


def loopback(host: str | None) -> bool:
    """``Host`` names this machine: with the console open (no credentials) nothing else is served, so a
    page whose domain was rebound to 127.0.0.1 (DNS rebinding) cannot read the console or post to it."""
    if not host:
        return False
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]", 1)[0] + "]"
    return name.lower() in ("127.0.0.1", "localhost", "[::1]")
