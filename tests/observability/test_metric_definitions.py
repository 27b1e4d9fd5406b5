"""The reader the dashboard and rule checks rely on: it sees every metric the code registers, and it catches
a misspelt metric, label or status."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import REGISTRY

import syncd.observability.metrics  # noqa: F401 -- registers the counters and histograms in REGISTRY
from syncd.app.state_views import StateViews
from syncd.settings import ProcessSettings
from syncd.web.metrics import StateGauges
from tests.observability.promql import defined_families, exposed_series, problems, vocabularies

FAMILIES = defined_families()
SERIES = exposed_series(FAMILIES)
VOCABULARIES = vocabularies(FAMILIES)


def test_the_definitions_read_are_the_ones_registered(tmp_path: Path) -> None:
    settings = ProcessSettings(config_dir=tmp_path / "none", var_dir=tmp_path)
    live = [m for m in REGISTRY.collect() if m.name.startswith("syncd_")]
    live += list(StateGauges(settings, StateViews()).collect())  # no tenant: the families, without samples
    assert {m.name: m.type for m in live} == {f.name: f.kind for f in FAMILIES.values()}


def test_histograms_and_counters_expose_their_suffixed_series() -> None:
    assert "syncd_records_total" in SERIES
    assert "syncd_records" not in SERIES
    assert {"le", "tenant", "stream", "status"} <= SERIES["syncd_run_duration_seconds_bucket"][1]
    assert "le" not in SERIES["syncd_run_duration_seconds_count"][1]


def test_what_exists_passes() -> None:
    expr = """
        sum by (tenant, stream) (increase(syncd_run_duration_seconds_count{status=~"aborted|fenced"}[30m]))
        or histogram_quantile(0.95, sum by (le, endpoint) (
          rate(syncd_api_request_duration_seconds_bucket[5m])
        )) > bool 1
        and on (tenant) max by (tenant) (syncd_state_up offset 30m)  # a comment
    """
    assert problems(expr, SERIES, VOCABULARIES) == []


def test_a_misspelt_metric_label_status_or_function_is_caught() -> None:
    def found(expr: str) -> list[str]:
        return problems(expr, SERIES, VOCABULARIES)

    assert found("rate(syncd_record_total[5m])") == ["unknown metric syncd_record_total"]
    assert found("syncd_jobs") == ["unknown metric syncd_jobs"]  # the counter is exposed as syncd_jobs_total
    assert found('syncd_open_failures{knd="permanent"}') == ["syncd_open_failures has no label knd"]
    assert found('syncd_jobs_total{status=~"dead|dying"}') == [
        "syncd_jobs_total{status} never takes ['dying']"
    ]
    assert found("sum by (endpoint) (syncd_state_up)") == ["grouping by endpoint, which no metric here has"]
    assert found("ratee(syncd_lock_busy_total[5m])") == ["unknown function ratee"]
    assert found("vector(1)") == ["no metric at all"]
