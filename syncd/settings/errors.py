"""Configuration errors that name the file, the key and what was expected."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from syncd.errors import Fatal


@dataclass(frozen=True)
class ConfigProblem:
    key: str
    problem: str

    def render(self, path: Path) -> str:
        return f"{path}: {self.key}: {self.problem}"


class ConfigError(Fatal):
    """Raised at start so a bad tenant file never reaches a sync run."""

    def __init__(self, path: Path, problems: Sequence[ConfigProblem]) -> None:
        self.path = path
        self.problems = tuple(problems)
        super().__init__("\n".join(p.render(path) for p in self.problems))


class KeyedProblems(ValueError):
    """A validator's problems, each under a key relative to the model that raised them.

    Pydantic keeps the raised exception in the error context, so the loader can turn
    these into full dotted keys instead of blaming a whole section.
    """

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(f"{p.key}: {p.problem}" for p in self.problems))
