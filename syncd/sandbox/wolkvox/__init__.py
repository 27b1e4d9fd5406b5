"""The Wolkvox simulator (``state``; ``main`` is its command line)."""

from syncd.sandbox.wolkvox.state import CHANNELS, Limits, build_app, token_label

__all__ = ["CHANNELS", "Limits", "build_app", "token_label"]
