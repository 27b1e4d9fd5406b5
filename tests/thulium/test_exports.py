"""``syncd.thulium``'s ``__all__`` is the client's public surface: every name resolves, and every error a
caller may need to catch is in it (a new exception class cannot be forgotten)."""

from __future__ import annotations

import syncd.thulium
import syncd.thulium.resources
from syncd.thulium import errors


def test_every_exported_name_resolves_once_in_order() -> None:
    for package in (syncd.thulium, syncd.thulium.resources):
        names = package.__all__
        assert names == sorted(set(names))
        assert [name for name in names if not hasattr(package, name)] == []


def test_every_public_error_is_exported() -> None:
    public = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, Exception) and value.__module__ == errors.__name__
    }
    internal = {"RetryableFailure"}  # never escapes the client: spent retries become ThuliumUnavailable
    assert public - internal - set(syncd.thulium.__all__) == set()
