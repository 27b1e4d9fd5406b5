"""What the shipped dashboard and alert rules may name: the series syncd's code defines, and a PromQL reader.

The metrics are found by reading the code's definitions (every ``Counter("name", "doc", [labels])``,
``Histogram(...)``, ``GaugeMetricFamily(..., labels=[...])`` under ``syncd/``), so a metric added, renamed
or relabelled there is what the checks compare against; ``test_the_definitions_read_are_the_ones_registered``
keeps that reading honest against the live collectors.

The reader is no full PromQL parser (promtool checks the syntax): it finds the selectors, their label
matchers and the labels of ``by``/``without``/``on``/``ignoring``/``group_*`` clauses, which is what can name
something that does not exist.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

from syncd.vocabulary import FailureKind, JobStatus, RunStatus

ROOT = Path(__file__).resolve().parents[2]
CODE = ROOT / "syncd"

# Labels every scraped series has besides its own: the target's.
TARGET_LABELS = frozenset({"instance", "job"})

_KINDS = {
    "Counter": "counter",
    "CounterMetricFamily": "counter",
    "Gauge": "gauge",
    "GaugeMetricFamily": "gauge",
    "Histogram": "histogram",
    "HistogramMetricFamily": "histogram",
    "Summary": "summary",
    "SummaryMetricFamily": "summary",
}
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("_count", "_sum", "_created"),
}


@dataclass(frozen=True)
class Family:
    """One metric as the code defines it: ``syncd_records`` (a counter) exposes ``syncd_records_total``."""

    name: str
    kind: str
    labels: frozenset[str]
    where: str

    def series(self) -> dict[str, frozenset[str]]:
        """Each exposed series name with the labels it may carry."""
        base = self.name.removesuffix("_total") if self.kind == "counter" else self.name
        named = {base + suffix: self.labels | TARGET_LABELS for suffix in _SUFFIXES[self.kind]}
        if self.kind == "histogram":
            named[base + "_bucket"] |= {"le"}
        return named


def _strings(node: ast.expr | None) -> list[str] | None:
    if isinstance(node, ast.List | ast.Tuple) and all(
        isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts
    ):
        return [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return None


def _definition(call: ast.Call, where: str) -> Family | None:
    func = call.func
    called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    if called not in _KINDS or len(call.args) < 2:
        return None
    name, doc = call.args[0], call.args[1]
    if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
        return None
    if not (isinstance(doc, ast.Constant) and isinstance(doc.value, str)):
        return None  # collections.Counter("abc") and the like: a metric always has a documentation string
    labels = _strings(call.args[2]) if len(call.args) > 2 else None
    for keyword in call.keywords:
        if keyword.arg in ("labels", "labelnames"):
            labels = _strings(keyword.value)
    assert labels is not None or not any(k.arg in ("labels", "labelnames") for k in call.keywords), (
        f"{where}: the labels of {name.value} are not a literal list; this reader cannot see them"
    )
    return Family(name.value, _KINDS[called], frozenset(labels or ()), where)


def defined_families(code: Path = CODE) -> dict[str, Family]:
    families: dict[str, Family] = {}
    for path in sorted(code.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and (family := _definition(node, f"{path.relative_to(ROOT)}")):
                assert family.name not in families, (family, families[family.name])
                families[family.name] = family
    return families


def exposed_series(families: dict[str, Family]) -> dict[str, tuple[Family, frozenset[str]]]:
    return {name: (f, labels) for f in families.values() for name, labels in f.series().items()}


# Which of the code's enums each status/kind label takes its values from (what the code passes as the label).
_VOCABULARIES: dict[tuple[str, str], type[RunStatus | JobStatus | FailureKind]] = {
    ("syncd_run_duration_seconds", "status"): RunStatus,  # syncd.app.sync: record_run(..., status, ...)
    ("syncd_runs", "status"): RunStatus,  # syncd.web.metrics: the runs table's status
    ("syncd_jobs", "status"): JobStatus,  # syncd.worker.execute: JOBS.labels(tenant, status)
    ("syncd_failures", "kind"): FailureKind,  # syncd.state.repository: record_failures(..., kinds)
    ("syncd_open_failures", "kind"): FailureKind,  # syncd.web.metrics: the failures table's kind
}


def vocabularies(families: dict[str, Family]) -> dict[tuple[str, str], set[str]]:
    for name, label in _VOCABULARIES:
        assert name in families, f"{name} is not defined any more"
        assert label in families[name].labels, f"{name} has no label {label} any more"
    return {key: {str(value) for value in enum} for key, enum in _VOCABULARIES.items()}


# ---- reading PromQL ----------------------------------------------------------------------------------------

_FUNCTION_NAMES = """
    abs absent absent_over_time avg avg_over_time bottomk ceil changes clamp clamp_max clamp_min count
    count_over_time count_values day_of_month day_of_week day_of_year days_in_month delta deriv exp floor
    group histogram_quantile holt_winters hour idelta increase irate label_join label_replace last_over_time
    ln log10 log2 max max_over_time min min_over_time minute month predict_linear present_over_time quantile
    quantile_over_time rate resets round scalar sgn sort sort_desc sqrt stddev stddev_over_time stdvar
    stdvar_over_time sum sum_over_time time timestamp topk vector year
"""
FUNCTIONS = frozenset(_FUNCTION_NAMES.split())
GROUPING = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
KEYWORDS = frozenset({"and", "or", "unless", "offset", "bool", "inf", "nan", "atan2"})

_TOKEN = re.compile(
    r"""
    (?P<space>\s+) | (?P<comment>\#[^\n]*)
    | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
    | (?P<range>\[[^\]]*\])
    | (?P<duration>\d+(?:ms|[smhdwy])(?:\d+(?:ms|[smhdwy]))*\b)
    | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<ident>[A-Za-z_:][\w:]*)
    | (?P<op>=~|!~|!=|==|>=|<=|[-+*/%^<>=,(){}@])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Matcher:
    label: str
    op: str
    value: str


@dataclass
class Query:
    """The metrics, label matchers and grouping labels one PromQL expression names."""

    selectors: list[tuple[str, list[Matcher]]] = field(default_factory=list)
    grouping: set[str] = field(default_factory=set)
    functions: set[str] = field(default_factory=set)


def _tokens(expr: str) -> list[tuple[str, str]]:
    tokens, at = [], 0
    while at < len(expr):
        match = _TOKEN.match(expr, at)
        assert match, f"cannot read PromQL at {expr[at : at + 30]!r} in {expr!r}"
        at = match.end()
        if match.lastgroup not in ("space", "comment"):
            tokens.append((str(match.lastgroup), match.group()))
    return tokens


def _unquote(text: str) -> str:
    if text.startswith("`"):
        return text[1:-1]
    return str(ast.literal_eval(text))


def read(expr: str) -> Query:
    tokens, query, i = _tokens(expr), Query(), 0
    while i < len(tokens):
        i = _step(tokens, i, query)
    return query


def _step(tokens: list[tuple[str, str]], i: int, query: Query) -> int:
    """Reads what starts at ``tokens[i]`` into ``query``; returns where the next thing starts."""
    kind, text = tokens[i]
    after = tokens[i + 1][1] if i + 1 < len(tokens) else ""
    assert text != "{", "a selector without a metric name"
    if kind != "ident" or text.lower() in KEYWORDS:
        return i + 1
    if text in GROUPING and after == "(":
        end = _closing(tokens, i, ")")
        query.grouping |= {word for kind, word in tokens[i + 2 : end] if kind == "ident"}
        return end + 1
    if after == "(" or after in ("by", "without"):
        query.functions.add(text)  # a function, or an aggregation: sum(…), sum by (…) (…)
        return i + 1
    if after == "{":
        end = _closing(tokens, i, "}")
        query.selectors.append((text, _matchers([t for t in tokens[i + 2 : end] if t[1] != ","])))
        return end + 1
    query.selectors.append((text, []))
    return i + 1


def _closing(tokens: list[tuple[str, str]], i: int, bracket: str) -> int:
    return next(j for j in range(i, len(tokens)) if tokens[j][1] == bracket)


def _matchers(tokens: list[tuple[str, str]]) -> list[Matcher]:
    found = []
    for at in range(0, len(tokens), 3):
        (kind, label), (_, op), (value_kind, value) = tokens[at : at + 3]
        assert kind == "ident", f"unreadable matcher {tokens[at : at + 3]}"
        assert value_kind == "string", f"unreadable matcher {tokens[at : at + 3]}"
        found.append(Matcher(label, op, _unquote(value)))
    return found


def problems(
    expr: str, series: dict[str, tuple[Family, frozenset[str]]], vocabularies: dict[tuple[str, str], set[str]]
) -> list[str]:
    """Everything ``expr`` names that syncd does not expose; empty when it only names what exists.

    ``vocabularies`` maps (family, label) to the values that label takes, from the code's enums.
    """
    query = read(expr)
    found = [f"unknown function {f}" for f in sorted(query.functions - FUNCTIONS)]
    if not query.selectors:
        found.append("no metric at all")
    allowed: set[str] = set()
    for metric, matched in query.selectors:
        if metric not in series:
            found.append(f"unknown metric {metric}")
            continue
        family, labels = series[metric]
        allowed |= labels
        for m in matched:
            if m.label not in labels:
                found.append(f"{metric} has no label {m.label}")
            values = vocabularies.get((family.name, m.label))
            if values is not None and (unknown := _literal_values(m) - values):
                found.append(f"{metric}{{{m.label}}} never takes {sorted(unknown)}")
    found += [f"grouping by {label}, which no metric here has" for label in sorted(query.grouping - allowed)]
    return found


def _literal_values(m: Matcher) -> set[str]:
    """The values a matcher names, when it names them plainly (``"ok"``, ``"aborted|fenced"``)."""
    if m.op in ("=", "!="):
        return {m.value}
    if re.fullmatch(r"[\w-]+(\|[\w-]+)*", m.value):
        return set(m.value.split("|"))
    return set()


def syncd_commands(text: str) -> list[list[str]]:
    """The ``syncd …`` commands quoted in backticks in ``text``, as words."""
    return [quoted.split() for quoted in re.findall(r"`(syncd [^`]+)`", text)]
