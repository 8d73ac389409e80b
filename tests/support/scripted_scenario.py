"""The scripted scenario the tests answer the stand-in server's requests with: replies in order, and compare mode's
alternatives. Only the tests use it; the offline demo has its own scenario (app.standin.demo).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from app.standin.scenario import Fault, Reply, Turn, prompt_key


@dataclass(frozen=True)
class Alternatives:
    """A script entry for compare mode: the first request for a prompt gets ``turns[0]``; each later request with the
    very same prompt (the same step sampled again) gets the next turn, cycling, without using up the script."""

    turns: tuple[Turn, ...]

    def __init__(self, *turns: Turn) -> None:
        if not turns:
            raise ValueError("Alternatives needs at least one turn")
        object.__setattr__(self, "turns", tuple(turns))


class ScriptedScenario:
    """Answers requests with ``replies`` in order; once they run out, every request gets a 500 saying so.

    An ``Alternatives`` entry answers its first request with its first turn and every repeat of that same prompt
    (compare mode) with the next of its turns, so N parallel resamples get N distinct answers."""

    def __init__(self, replies: Iterable[Reply | Alternatives]) -> None:
        self.replies: tuple[Reply | Alternatives, ...] = tuple(replies)
        self._next_index = 0
        self._lock = threading.Lock()
        # prompt key -> (its Alternatives, how many of its turns were served)
        self._resampled: dict[str, tuple[Alternatives, int]] = {}

    def __call__(self, request: dict[str, Any]) -> Reply:
        key = prompt_key(request) if any(isinstance(reply, Alternatives) for reply in self.replies) else None
        with self._lock:
            if key is not None and key in self._resampled:
                alternatives, served = self._resampled[key]
                self._resampled[key] = (alternatives, served + 1)
                return alternatives.turns[served % len(alternatives.turns)]
            index = self._next_index
            self._next_index += 1
            reply = self.replies[index] if index < len(self.replies) else None
            if isinstance(reply, Alternatives):
                self._resampled[key] = (reply, 1)
                return reply.turns[0]
        if reply is not None:
            return reply
        return Fault(
            500,
            "api_error",
            f"The stand-in's scripted scenario ran out of replies: it had {len(self.replies)}, "
            f"and this is request {index + 1}.",
        )

    @property
    def used(self) -> int:
        """How many requests the scenario has answered (including ones past the end of the script)."""
        with self._lock:
            return self._next_index
