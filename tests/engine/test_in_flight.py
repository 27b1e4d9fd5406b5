"""The sender window: held calls start into free places only, from the thread whose call ended."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from syncd.engine.crm.dispatch import InFlight


def four_calls() -> list[Any]:
    """Calls as the window sees them: only sent and handed back, never opened."""
    return [("create", [n]) for n in range(4)]


class Gatekeeper:
    """A send that blocks until released, counting what is out at once (the window's real bound)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Semaphore(0)
        self.lock = threading.Lock()
        self.out = self.most_out = 0
        self.sent: list[Any] = []

    def __call__(self, call: Any) -> Any:
        with self.lock:
            self.out += 1
            self.most_out = max(self.most_out, self.out)
            self.sent.append(call)
        self.started.release()
        self.release.wait()
        with self.lock:
            self.out -= 1
        return call


def test_held_calls_go_out_as_places_free_never_more_than_the_window() -> None:
    send = Gatekeeper()
    settled: list[Any] = []
    with InFlight(2) as window:
        window.submit(four_calls(), send)
        assert window.room == 0
        send.release.set()
        while window:
            settled += [call for call, _future in window.finished(None)]
    assert sorted(call[1][0] for call in settled) == [0, 1, 2, 3]
    assert send.most_out == 2


def test_a_run_that_ends_on_an_error_never_sends_what_was_held() -> None:
    send = Gatekeeper()

    def release_once_dropped(window: InFlight) -> None:
        while window.room < 2:  # the two held calls dropped: only the two out still take places
            threading.Event().wait(0)  # yield to the ending run; this waits on the window's state
        send.release.set()

    def end_with_two_held() -> None:
        with InFlight(2) as window:
            window.submit(four_calls(), send)
            send.started.acquire()
            send.started.acquire()  # both places taken: the other two are held
            threading.Thread(target=release_once_dropped, args=(window,), daemon=True).start()
            raise RuntimeError("the run ends")

    with pytest.raises(RuntimeError, match="the run ends"):
        end_with_two_held()
    assert sorted(call[1][0] for call in send.sent) == [0, 1]
