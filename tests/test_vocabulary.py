"""The exception tree and the vocabulary hold for every module, not just the ones someone remembered."""

import importlib
import inspect
import pkgutil

import pytest

import syncd
from syncd.errors import Fatal, Retriable, Skippable, SyncdError
from syncd.thulium.errors import ThuliumAPIError, ThuliumError
from syncd.vocabulary import JobStatus, RunStatus, worst

BRANCHES = (Fatal, Retriable, Skippable)
BETWEEN = {
    SyncdError,
    *BRANCHES,
    ThuliumError,
    ThuliumAPIError,
}  # roots of a family, placed by their children
TEST_DOUBLES = "syncd.sandbox"  # a simulator of Thulium and Wolkvox: its errors are HTTP answers
NOT_ERRORS = {"syncd.settings.errors.KeyedProblems"}  # pydantic's carrier of problems into a ConfigError


def syncd_exceptions() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for module_info in pkgutil.walk_packages(syncd.__path__, "syncd."):
        if module_info.name.startswith(TEST_DOUBLES) or module_info.name.endswith("__main__"):
            continue
        module = importlib.import_module(module_info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__ == module.__name__:
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return [value for name, value in sorted(found.items()) if name not in NOT_ERRORS]


def test_the_walk_finds_the_families() -> None:
    names = {error.__name__ for error in syncd_exceptions()}
    assert {"RunAborted", "ThuliumRejected", "ConfigError", "TenantBusy", "InvalidValue"} <= names


@pytest.mark.parametrize("error", syncd_exceptions(), ids=lambda error: error.__qualname__)
def test_every_exception_is_on_exactly_one_branch(error: type[BaseException]) -> None:
    assert issubclass(error, SyncdError), f"{error.__module__}.{error.__qualname__} is outside SyncdError"
    if error in BETWEEN:
        return
    branches = [branch.__name__ for branch in BRANCHES if issubclass(error, branch)]
    assert len(branches) == 1, f"{error.__qualname__} is on {branches or 'no branch'}"


def test_a_job_finishes_as_its_worst_stream() -> None:
    assert worst([RunStatus.OK, RunStatus.PARTIAL, RunStatus.ABORTED]) is RunStatus.ABORTED
    assert worst(["ok", "fenced", "aborted"]) is RunStatus.FENCED
    assert worst(["ok", "ok"]) is RunStatus.OK
    assert worst([]) is RunStatus.OK


def test_words_are_the_strings_the_state_db_holds() -> None:
    assert str(RunStatus.PARTIAL) == "partial"
    assert f"{JobStatus.DEAD}" == "dead"
    never_a_job = {"crashed", "dry-run"}
    assert {status.value for status in RunStatus} - never_a_job <= {status.value for status in JobStatus}
