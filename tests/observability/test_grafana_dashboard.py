"""config/grafana/syncd-dashboard.json: valid, importable anywhere (its Prometheus is a variable), and every
query names only series, labels and statuses syncd exposes, filtered by the tenant variable where it can."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.observability.promql import ROOT, defined_families, exposed_series, problems, read, vocabularies

DASHBOARD = ROOT / "config" / "grafana" / "syncd-dashboard.json"
BOARD: dict[str, Any] = json.loads(DASHBOARD.read_text())
FAMILIES = defined_families()
SERIES = exposed_series(FAMILIES)
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
# Grafana's own interval variables, as Prometheus would see them once Grafana has filled them in.
INTERVALS = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "6h"}


def panels(within: list[dict[str, Any]] | None = None) -> Iterator[dict[str, Any]]:
    for panel in BOARD["panels"] if within is None else within:
        yield panel
        yield from panels(panel.get("panels", []))


def queries() -> list[tuple[str, str]]:
    return [
        (f"{panel['title']} {target['refId']}", target["expr"])
        for panel in panels()
        for target in panel.get("targets", [])
    ]


def promql(expr: str) -> str:
    for variable, value in INTERVALS.items():
        expr = expr.replace(variable, value)
    return expr


def variable(name: str) -> dict[str, Any]:
    (found,) = [v for v in BOARD["templating"]["list"] if v["name"] == name]
    return dict(found)


def test_the_dashboard_is_current_grafana_json_with_unique_panel_ids() -> None:
    assert BOARD["schemaVersion"] >= 39
    assert BOARD["uid"] == "syncd"
    ids = [panel["id"] for panel in panels()]
    assert len(ids) == len(set(ids)), ids
    assert len(queries()) >= 10


def test_panels_do_not_overlap() -> None:
    cells: dict[tuple[int, int], str] = {}
    for panel in panels():
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, (panel["title"], cells[x, y])
                cells[x, y] = panel["title"]


def test_prometheus_is_chosen_on_import_not_named_in_the_file() -> None:
    chosen = variable("datasource")
    assert (chosen["type"], chosen["query"]) == ("datasource", "prometheus")
    for panel in panels():
        if panel["type"] != "row":
            assert panel["datasource"] == DATASOURCE, panel["title"]
            assert all(t["datasource"] == DATASOURCE for t in panel["targets"]), panel["title"]


def test_the_tenant_variable_lists_the_tenants_syncd_reports() -> None:
    tenant = variable("tenant")
    assert tenant["datasource"] == DATASOURCE
    assert (tenant["multi"], tenant["includeAll"], tenant["allValue"]) == (True, True, ".*")
    definition = tenant["definition"]
    assert tenant["query"]["query"] == definition
    metric = definition.removeprefix("label_values(").removesuffix(", tenant)")
    assert definition == f"label_values({metric}, tenant)"
    assert "tenant" in SERIES[metric][1]


@pytest.mark.parametrize(("panel", "expr"), queries(), ids=[name for name, _ in queries()])
def test_every_query_names_only_what_syncd_exposes(panel: str, expr: str) -> None:
    assert problems(promql(expr), SERIES, vocabularies(FAMILIES)) == []


@pytest.mark.parametrize(("panel", "expr"), queries(), ids=[name for name, _ in queries()])
def test_every_series_with_a_tenant_follows_the_tenant_variable(panel: str, expr: str) -> None:
    for metric, matchers in read(promql(expr)).selectors:
        if "tenant" in SERIES[metric][1]:
            assert any((m.label, m.op, m.value) == ("tenant", "=~", "$tenant") for m in matchers), metric


def test_every_query_is_valid_promql(tmp_path: Path) -> None:
    """promtool parses them, as recording rules with the dashboard's variables filled in."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (make test installs it through .ci/system-deps)")
    records = [
        {"record": f"dashboard:query_{i}", "expr": promql(expr).replace("$tenant", ".*")}
        for i, (_, expr) in enumerate(queries())
    ]
    rules = tmp_path / "dashboard.yml"
    rules.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": records}]}))
    command = [promtool, "check", "rules", str(rules)]
    checked = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_docs_point_at_the_dashboard_and_the_rules() -> None:
    """The README and the docs site together (the reference is docs/observability.md)."""
    docs = "\n".join(path.read_text() for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])
    for shipped in (DASHBOARD, ROOT / "config" / "prometheus" / "syncd-rules.yml"):
        assert shipped.is_file()
        assert str(shipped.relative_to(ROOT)) in docs
