"""HTTP Basic credentials checked without telling an attacker how close a guess came.

Both parts are compared, in constant time, even when the user is already wrong, and each is
hashed first so the comparison time does not depend on the secret's length either. The
header is compared as bytes: no decoding step that could fail differently for good and bad
guesses.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

CHALLENGE = 'Basic realm="syncd"'


def credentials(header: str | None) -> tuple[bytes, bytes] | None:
    """User and password from an ``Authorization: Basic …`` header, or None when there are none."""
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, colon, password = decoded.partition(b":")
    return (user, password) if colon else None


def authorized(header: str | None, user: str, password: str) -> bool:
    parsed = credentials(header)
    given_user, given_password = parsed or (b"", b"")
    user_ok = _same(given_user, user.encode("utf-8"))
    password_ok = _same(given_password, password.encode("utf-8"))
    return parsed is not None and user_ok and password_ok


def _same(given: bytes, expected: bytes) -> bool:
    return hmac.compare_digest(hashlib.sha256(given).digest(), hashlib.sha256(expected).digest())
