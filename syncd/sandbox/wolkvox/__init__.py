"""A Wolkvox ``reports_manager.php`` simulator for ``api=chat_13`` (closed chats per channel, seed 003).

The vendor's consumption rules (2 simultaneous requests per token, a poll every 5 minutes, 31-day windows) are
what a poller most easily gets wrong, so they are enforced *and* measured: the control API under
``/_control/`` tells a test how close its client came to each limit. The document does not say how a breach
is answered; the refusal shapes here are the sandbox's assumption (see ../README.md).

``chats`` holds the data, ``state`` the limits and their admission, ``routes`` the HTTP face and ``main`` the
command line (``python -m syncd.sandbox.wolkvox``).
"""

from syncd.sandbox.wolkvox.chats import CHANNELS
from syncd.sandbox.wolkvox.routes import build_app
from syncd.sandbox.wolkvox.state import Limits, token_label

__all__ = ["CHANNELS", "Limits", "build_app", "token_label"]
