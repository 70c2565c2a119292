"""Stage 6 — compare: the same records through two or more policies, and what differs.

    from policydsl import compare
    c = compare.compare(["policies/jinyuan/star_rating.policy", "policies/variants/jinyuan_1500_per_star.policy"],
                        "data/jinyuan/secretaries.csv")
    c.write("report.html")            # or .md / .json; same inputs → the same bytes

The first policy is the **baseline**; every other policy is compared with it.

* **Records.** Each policy validates the records against its *own* subject schema. A field a policy needs that the
  records do not carry at all (no such column) is reported per policy — "policy B needs field X which the records
  lack" — and that policy is left out of the comparison instead of guessing a value. Records that fail to load or to
  evaluate under one policy are listed and not compared; none is dropped silently.
* **Outcomes** are matched by name. Outcomes present in only some policies, or with different types, are listed.
* **Per record**, every outcome whose value differs, with the values under each policy and why: the params and
  nodes on the outcome's dependency path whose *value* differs in this record (from the traces, with the deciding
  table rows), and the declarations upstream of it that differ *structurally* between the policies.
* **Totals** over the records compared: numbers (money, int, decimal, percent) — sums, total/mean/median/min/max
  change, how many gain / lose / stay (exact Decimal arithmetic; means are rounded half up and say so); int
  outcomes also get the distribution of values; enum / bool / text outcomes a crosstab of decisions.
* **Structure**: params, facts, outcomes, tables and eligibility blocks whose definitions differ (compared on the
  typed IR, ignoring citations and positions), with each policy's source text side by side; subject fields that
  differ.

Memory: records are loaded once and shared by every policy whose record schemas agree (once per policy otherwise),
evaluated in lock-step without traces; totals are running sums plus a count of each distinct change (the median stays
exact), so no list of one value per record is kept. Only records that differ are kept; traces are recomputed for the
first `detail_limit` differing records (the rest keep values and the structural causes, one shared `Cause` per policy
and outcome). Benchmark: bench/bench_compare.py, figures in docs/performance.md. Reports (JSON, Markdown,
self-contained HTML with SVG charts drawn by matplotlib) are deterministic byte for
byte: no timestamps, fixed SVG ids and hash salt, stable ordering everywhere.
"""

from __future__ import annotations

import io
import json
import logging
import re
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import networkx as nx

from . import api, ir
from .engines.records import FLAT_SUFFIXES, DataError, DataSetupError, load_records, read_rows
from .engines.row import Engine, EvaluationError, Result, Trace
from .graph import build
from .limits import printable_lines
from .types import DECIMAL, INT, MONEY, PERCENT, EnumType, ListOf, Type, format_value, round_money

NUMERIC_TYPES = (MONEY, INT, DECIMAL, PERCENT)
REPORT_SUFFIXES = (".html", ".md", ".json")
MAX_CHARTS = 4


# ------------------------------------------------------------------------------------------------ results

@dataclass(frozen=True)
class MissingField:
    """A field a policy needs that the records do not carry at all."""

    policy: str  # the policy's label
    field: str   # "常住人口", or "工作者[].岗位" for a field of related records
    type: str
    hint: str = ""

    @property
    def message(self) -> str:
        text = f"policy {self.policy} needs field {self.field} ({self.type}) which the records lack"
        return text + (f"; {self.hint}" if self.hint else "")


@dataclass
class PolicyRun:
    """One policy's side of a comparison: what it needed, what failed, what it is compared on."""

    label: str
    path: str
    policy: ir.Policy
    as_of: date
    missing: list[MissingField] = field(default_factory=list)
    setup_error: str | None = None
    data_errors: list[DataError] = field(default_factory=list)
    failed_ids: list[str] = field(default_factory=list)             # records that did not load
    evaluation_errors: list[tuple[str, str]] = field(default_factory=list)  # (record id, message)
    loaded: int = 0

    @property
    def runnable(self) -> bool:
        return not self.missing and self.setup_error is None


@dataclass(frozen=True)
class PathStep:
    """A param or node on an outcome's dependency path whose value differs in one record (baseline vs other)."""

    kind: str            # 'param' or the node kind ('fact', 'table', …, 'outcome')
    name: str
    values: tuple[object, object]
    type: Type
    rows: tuple[int | None, int | None] = (None, None)  # tables: the deciding row in each policy


@dataclass(frozen=True)
class Cause:
    """Why one outcome of one record differs between the baseline and one other policy."""

    policy: str
    changed: tuple[str, ...]          # structurally different declarations upstream ("param 每星奖励")
    path: tuple[PathStep, ...] | None  # None when traces were not computed (beyond detail_limit)


@dataclass(frozen=True)
class OutcomeDiff:
    outcome: str
    type: Type
    values: tuple[object, ...]  # one per compared policy, baseline first
    causes: tuple[Cause, ...]


@dataclass(frozen=True)
class RecordDiff:
    record_id: str
    outcomes: tuple[OutcomeDiff, ...]


@dataclass(frozen=True)
class NumericTotals:
    """A numeric outcome over the records compared: baseline vs one other policy."""

    outcome: str
    type: Type
    policy: str
    count: int
    total_base: object
    total_other: object
    change: object
    mean_change: Decimal | None
    median_change: object
    min_change: object
    max_change: object
    gain: int
    lose: int
    same: int
    distribution: tuple[tuple[object, int, int], ...] = ()  # int outcomes: (value, count baseline, count other)


@dataclass(frozen=True)
class Crosstab:
    """An enum/bool/text outcome: how many records had each (baseline value, other value) pair."""

    outcome: str
    type: Type
    policy: str
    cells: tuple[tuple[object, object, int], ...]


@dataclass(frozen=True)
class DeclDiff:
    """A declaration that differs between the policies, with each policy's source text (None: not defined)."""

    kind: str
    name: str
    texts: tuple[str | None, ...]
    notes: tuple[str, ...] = ()


@dataclass
class Comparison:
    records_path: str
    runs: list[PolicyRun]
    compared: list[PolicyRun]
    common_outcomes: list[tuple[str, Type]] = field(default_factory=list)
    only_in: dict[str, list[str]] = field(default_factory=dict)
    type_mismatch: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    records_total: int = 0
    records_compared: int = 0
    records_differing: int = 0
    diffs: list[RecordDiff] = field(default_factory=list)
    numeric: list[NumericTotals] = field(default_factory=list)
    crosstabs: list[Crosstab] = field(default_factory=list)
    structure: list[DeclDiff] = field(default_factory=list)
    summaries: list[tuple[str, Type, tuple[object, ...]]] = field(default_factory=list)  # over records compared
    field_differences: list[tuple[str, tuple[str | None, ...]]] = field(default_factory=list)
    per_record_values: dict[str, list[tuple[str, tuple[object, ...]]]] = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        return [r.label for r in self.compared]

    @property
    def missing_fields(self) -> list[MissingField]:
        return [m for r in self.runs for m in r.missing]

    # ------------------------------------------------------------------------------------------ reports
    def to_dict(self) -> dict:
        return _to_dict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n"

    def to_markdown(self, charts_prefix: str | None = None, max_records: int = 200) -> str:
        return _markdown(self, charts_prefix, max_records)

    def to_html(self, max_records: int = 500) -> str:
        return _html(self, max_records)

    def charts(self) -> list[tuple[str, str]]:
        """(title, SVG text) of every chart, deterministic byte for byte."""
        return _charts(self)

    def write(self, path: str | Path) -> list[Path]:
        """Write the report as .html, .md (plus one .svg per chart beside it) or .json; returns the files."""
        path = Path(path)
        suffix = path.suffix.lower()
        written = [path]
        if suffix == ".json":
            text = self.to_json()
        elif suffix == ".html":
            text = self.to_html()
        elif suffix == ".md":
            stem = path.stem
            charts = self.charts()
            for i, (_, svg) in enumerate(charts, start=1):
                chart = path.with_name(f"{stem}.chart{i}.svg")
                chart.write_text(svg, encoding="utf-8", newline="")
                written.append(chart)
            text = _markdown(self, stem, 200, charts)
        else:
            raise ValueError(f"{path}: cannot write a report as '{path.suffix}' (use {', '.join(REPORT_SUFFIXES)})")
        path.write_text(text, encoding="utf-8", newline="")
        return written


# ------------------------------------------------------------------------------------------------ the comparison

def compare(policies: Sequence[str | Path | ir.Policy], records_path: str | Path, *,
            related: dict[str, str | Path] | None = None, as_of: date | None = None,
            labels: Sequence[str] | None = None, detail_limit: int = 1000,
            progress: Callable[[int], None] | None = None,
            stage: Callable[[str, int | None], None] | None = None, engine: str = "duckdb") -> Comparison:
    """Run the same records through 2+ policies (the first is the baseline) and compare everything.

    `policies` are paths (checked with `api.load_policy`, which raises PolicyError) or checked `ir.Policy`s.
    `related` maps relation field names to files (as `run --related`); each policy uses the ones it declares.
    `as_of` applies to every policy; without it each policy uses its own effective date.
    `progress(n)` is called as records are compared (n at a time, in batches); `stage(description, total)` when a
    phase starts ("loading records (label)" with total None, then "comparing" with the number of records).
    `engine` "duckdb" computes every figure in SQL (bounded memory; the row evaluator only traces the first
    `detail_limit` differing records); "row" evaluates every record in Python. Both give the same comparison.
    """
    if len(policies) < 2:
        raise ValueError("a comparison needs at least two policies")
    loaded = [p if isinstance(p, ir.Policy) else api.load_policy(p) for p in policies]
    labels = list(labels) if labels else _labels([p.path for p in loaded])
    related = {k: str(v) for k, v in (related or {}).items()}
    records_path = str(records_path)
    runs = [PolicyRun(label, p.path, p, as_of or Engine(p).default_as_of()) for label, p in zip(labels, loaded)]

    columns = _columns(records_path)
    for run in runs:
        run.missing = _missing_fields(run, columns, related)
    if engine != "row":
        return _compare_in_sql(runs, records_path, related, detail_limit, stage, progress)
    inputs: list[dict[str, dict]] = []
    order: list[str] = []
    # Policies whose record schemas agree (a variant and the policy it extends, counties reading the same base
    # schema) load the file once and share the records: loading twice would give the same values and errors.
    shared: list[tuple[tuple, PolicyRun, dict[str, dict]]] = []
    for run in runs:
        if not run.runnable:
            inputs.append({})
            continue
        mine = {k: v for k, v in related.items() if isinstance(run.policy.subject.field(k), ListOf)}
        key = (run.policy.subject, run.policy.records, sorted(mine.items()))
        same = next(((first, values) for k, first, values in shared if k == key), None)
        if same is not None:
            first, values = same
            run.setup_error, run.data_errors, run.failed_ids, run.loaded = \
                first.setup_error, first.data_errors, first.failed_ids, first.loaded
            inputs.append(values)
            continue
        if stage:
            stage(f"loading records ({run.label})", None)
        try:
            result = load_records(records_path, run.policy.subject, run.policy.records, mine)
        except DataSetupError as exc:
            run.setup_error = str(exc)
            inputs.append({})
            shared.append((key, run, {}))
            continue
        run.data_errors, run.failed_ids, run.loaded = result.errors, result.failed_ids, len(result.records)
        inputs.append({r.id: r.values for r in result.records})
        shared.append((key, run, inputs[-1]))
        if not order:
            order = [r.id for r in result.records] + list(result.failed_ids)
        del result
    compared_idx = [i for i, run in enumerate(runs) if run.runnable]
    comp = Comparison(records_path, runs, [runs[i] for i in compared_idx])
    comp.records_total = len(order)
    _match_outcomes(comp)
    comp.structure, comp.field_differences = _structure(comp.compared)
    if len(comp.compared) < 2:
        return comp
    if stage:
        stage("comparing", len(order))
    _evaluate(comp, [inputs[i] for i in compared_idx], order, detail_limit, progress)
    return comp


def _labels(paths: list[str]) -> list[str]:
    """Short, distinct names: the file stem, with parent folders added while two are alike."""
    parts = [Path(p).with_suffix("").parts for p in paths]
    depth = 1
    while True:
        names = ["/".join(p[-depth:]) for p in parts]
        if len(set(names)) == len(names) or depth > max(len(p) for p in parts):
            break
        depth += 1
    seen: Counter = Counter()
    out = []
    for n in names:
        seen[n] += 1
        out.append(n if seen[n] == 1 else f"{n}#{seen[n]}")
    return out


def _columns(path: str) -> set[str] | None:
    """The field names the records file carries (CSV/XLSX: the header; JSON: keys of any record)."""
    try:
        rows = read_rows(path)
        if Path(path).suffix.lower() in FLAT_SUFFIXES:
            first = next(iter(rows), None)
            return set(first[1]) if first else set()
        names: set[str] = set()
        for _, raw in rows:
            if isinstance(raw, dict):
                names.update(raw)
        return names
    except DataSetupError:
        return None  # load_records reports the problem


def _missing_fields(run: PolicyRun, columns: set[str] | None, related: dict[str, str]) -> list[MissingField]:
    if columns is None:
        return []
    missing = []
    for name, ftype in run.policy.subject.fields:
        if isinstance(ftype, ListOf):
            if name in related:
                element = run.policy.records.get(ftype.element)
                sub = _columns(related[name])
                if element is not None and sub is not None:
                    missing += [MissingField(run.label, f"{name}[].{n}", str(t), f"not a column of {related[name]}")
                                for n, t in element.fields if n not in sub and not isinstance(t, ListOf)]
            elif name not in columns:
                missing.append(MissingField(run.label, name, f"list of {ftype.element}",
                                            f"give its rows with --related {name}=FILE"))
        elif name not in columns:
            missing.append(MissingField(run.label, name, str(ftype)))
    return missing


def _match_outcomes(comp: Comparison) -> None:
    if not comp.compared:
        return
    types = [{n.name: n.type for n in run.policy.outcomes} for run in comp.compared]
    names = list(dict.fromkeys(n for t in types for n in t))
    for name in names:
        present = [t.get(name) for t in types]
        if None in present:
            continue
        if len(set(present)) == 1:
            comp.common_outcomes.append((name, present[0]))
        else:
            comp.type_mismatch.append((name, tuple(str(t) for t in present)))
    for run, t in zip(comp.compared, types):
        comp.only_in[run.label] = [n for n in t if any(n not in other for other in types)]


class _Causes:
    """Why outcomes differ: the declarations upstream that differ structurally, and (from traces) the values on
    the dependency path that differ in one record."""

    def __init__(self, runs: list[PolicyRun]):
        self.runs = runs
        self.graphs = [build(run.policy) for run in runs]
        self.changed = [set()] + [_changed_names(runs[0].policy, run.policy) for run in runs[1:]]
        self._upstream: dict[tuple[int, str], set[str]] = {}
        self._structural: dict[tuple[int, str], tuple[str, ...]] = {}
        self._plain: dict[tuple[int, str], Cause] = {}

    def upstream(self, i: int, name: str) -> set[str]:
        if (i, name) not in self._upstream:
            up = {name}
            for g in (self.graphs[0], self.graphs[i]):
                if name in g:
                    up |= nx.ancestors(g, name)
            self._upstream[(i, name)] = up
        return self._upstream[(i, name)]

    def changed_upstream(self, i: int, name: str) -> tuple[str, ...]:
        if (i, name) not in self._structural:
            base, other = self.runs[0].policy, self.runs[i].policy
            self._structural[(i, name)] = tuple(_describe(base, other, n) for n in _ordered(
                base, other, self.changed[i] & self.upstream(i, name)))
        return self._structural[(i, name)]

    def record(self, record_id: str, differing: list[tuple[str, Type]], values: list[dict[str, object]],
               traces: list[Trace | None]) -> RecordDiff:
        """The differences of one record; `values[k]` are policy k's outcomes, `traces` None beyond the limit."""
        base = values[0]
        diffs = []
        for name, t in differing:
            causes = []
            for i in range(1, len(self.runs)):
                if values[i][name] == base[name]:
                    continue
                if traces[0] is None:  # beyond detail_limit: one shared Cause per (policy, outcome)
                    if (i, name) not in self._plain:
                        self._plain[(i, name)] = Cause(self.runs[i].label, self.changed_upstream(i, name), None)
                    causes.append(self._plain[(i, name)])
                    continue
                because = self.changed_upstream(i, name)
                path = _path(self.runs[0].policy, self.runs[i].policy, traces[0], traces[i], self.upstream(i, name))
                on_path = {s.name for s in path}
                # of the declarations that differ upstream, those that acted in this record
                because = tuple(d for d in because if d.split(" ")[-1] in on_path) or because
                causes.append(Cause(self.runs[i].label, because, path))
            diffs.append(OutcomeDiff(name, t, tuple(v[name] for v in values), tuple(causes)))
        return RecordDiff(record_id, tuple(diffs))


def _evaluate(comp: Comparison, inputs: list[dict[str, dict]], order: list[str], detail_limit: int,
              progress: Callable[[int], None] | None) -> None:
    runs = comp.compared
    engines = [Engine(run.policy) for run in runs]
    outcomes = comp.common_outcomes
    causes = _Causes(runs)
    numeric_types = {n for n, t in outcomes if t in NUMERIC_TYPES}
    # running totals only: a sum of the baseline values, a sum of the changes and a count of each distinct change
    # (exact, and small: money changes are whole fen and repeat) — never a list of one value per record
    running: dict[tuple[int, str], _Running] = {(i, n): _Running(0 if t == INT else Decimal(0))
                                                for i in range(1, len(runs)) for n, t in outcomes
                                                if n in numeric_types}
    dists: dict[tuple[int, str], Counter] = {}
    crosstabs: dict[tuple[int, str], Counter] = {(i, n): Counter() for i in range(1, len(runs))
                                                 for n, t in outcomes if t not in NUMERIC_TYPES}
    per_record_ints = {n for n, t in outcomes if t == INT}
    keep_values = len(order) <= 200
    summary_names = [n for n in runs[0].policy.summaries
                     if all(n in r.policy.summaries and r.policy.summaries[n].type == runs[0].policy.summaries[n].type
                            for r in runs)]
    summary_rows: list[list[dict]] = [[] for _ in runs]
    details_left = detail_limit
    step = 1 if len(order) < 10_000 else 1000
    shared = [_across_values(engine, run, inp, order) for engine, run, inp in zip(engines, runs, inputs)]
    seen: set[str] = set()
    for count, record_id in enumerate(order, start=1):
        if progress and count % step == 0:
            progress(step)
        values = [inp.get(record_id) for inp in inputs]
        if any(v is None for v in values) or record_id in seen:  # a refused duplicate key is not compared twice
            continue
        seen.add(record_id)
        results = []
        for run, engine, v, known in zip(runs, engines, values, shared):
            r = _evaluated(engine, run, v, record_id, known(record_id))
            if not r.ok:
                run.evaluation_errors.append((record_id, r.error))
            results.append(r)
        if not all(r.ok for r in results):
            continue
        comp.records_compared += 1
        for k, (run, engine, v) in enumerate(zip(runs, engines, values)):
            if summary_names:
                summary_rows[k].append(engine.all_values(v, run.as_of, shared[k](record_id).get("known")))
        if keep_values and per_record_ints:
            comp.per_record_values[record_id] = [(n, tuple(r.values[n] for r in results))
                                                 for n, _ in outcomes if n in per_record_ints]
        base = results[0].values
        for i in range(1, len(runs)):
            other = results[i].values
            for name in numeric_types:
                a, b = base[name], other[name]
                totals = running[(i, name)]
                totals.base += a
                totals.change += b - a
                totals.counts[b - a] += 1
                if isinstance(a, int):
                    dists.setdefault((i, name), Counter())[(a, 0)] += 1
                    dists[(i, name)][(b, 1)] += 1
            for (j, name), counter in crosstabs.items():
                if j == i:
                    counter[(base[name], other[name])] += 1
        differing = [(n, t) for n, t in outcomes if any(r.values[n] != base[n] for r in results[1:])]
        if not differing:
            continue
        comp.records_differing += 1
        traces: list[Trace | None] = [None] * len(runs)
        if details_left > 0:
            details_left -= 1
            traces = [_evaluated(engine, run, v, record_id, known(record_id), trace=True).trace
                      for run, engine, v, known in zip(runs, engines, values, shared)]
        comp.diffs.append(causes.record(record_id, differing, [r.values for r in results], traces))
    if progress and len(order) % step:
        progress(len(order) % step)

    if summary_names:
        computed = [_summaries(engine, run, rows) for engine, run, rows in zip(engines, runs, summary_rows)]
        for name in summary_names:
            comp.summaries.append((name, runs[0].policy.summaries[name].type, tuple(x[name] for x in computed)))
    _figures(comp, running, dists, crosstabs)


def _figures(comp: Comparison, running: dict[tuple[int, str], "_Running"], dists: dict[tuple[int, str], Counter],
             crosstabs: dict[tuple[int, str], Counter]) -> None:
    """Totals of numeric outcomes and crosstabs of the others, for each policy against the baseline."""
    for i in range(1, len(comp.compared)):
        for name, t in comp.common_outcomes:
            if (i, name) in running:
                comp.numeric.append(_totals(name, t, comp.compared[i].label, running[(i, name)],
                                            dists.get((i, name))))
            else:
                cells = sorted(crosstabs[(i, name)].items(), key=lambda kv: (_sort_key(kv[0][0], t),
                                                                              _sort_key(kv[0][1], t)))
                comp.crosstabs.append(Crosstab(name, t, comp.compared[i].label,
                                               tuple((a, b, n) for (a, b), n in cells)))


def _compare_in_sql(runs: list[PolicyRun], records_path: str, related: dict[str, str], detail_limit: int,
                    stage: Callable[[str, int | None], None] | None,
                    progress: Callable[[int], None] | None) -> Comparison:
    """The comparison with every figure computed by DuckDB (engines/sql/side_by_side.py)."""
    from .engines.base import EngineUnavailable
    from .engines.sql.side_by_side import SideBySide
    runnable = [run for run in runs if run.runnable]
    if stage:
        stage("evaluating on DuckDB", None)
    try:
        sbs = SideBySide([(run.policy, run.as_of) for run in runnable], records_path, related)
    except EngineUnavailable:
        return compare([run.policy for run in runs], records_path, related=related, engine="row",
                       labels=[run.label for run in runs], detail_limit=detail_limit,
                       as_of=None if len({r.as_of for r in runs}) > 1 else runs[0].as_of)
    with sbs:
        for run, load in zip(runnable, sbs.loads):
            run.setup_error = load.setup_error
            run.data_errors, run.failed_ids = load.batch.data_errors, load.batch.failed_ids
            run.loaded = load.loaded
        compared = [run for run in runs if run.runnable]
        comp = Comparison(records_path, runs, compared)
        first = next((load for load in sbs.loads if load.setup_error is None), None)
        comp.records_total = first.total if first else 0
        _match_outcomes(comp)
        comp.structure, comp.field_differences = _structure(comp.compared)
        if len(compared) < 2:
            return comp
        if stage:
            stage("comparing", comp.records_total)
        _figures_in_sql(comp, sbs, detail_limit)
        if progress:
            progress(comp.records_total)
    return comp


def _figures_in_sql(comp: Comparison, sbs, detail_limit: int) -> None:
    runs = comp.compared
    for k, run in enumerate(runs):
        run.evaluation_errors = sbs.evaluation_errors(k)
    comp.records_compared = sbs.compared_count
    outcomes = comp.common_outcomes
    running, dists, crosstabs = {}, {}, {}
    for i in range(1, len(runs)):
        for name, t in outcomes:
            if t in NUMERIC_TYPES:
                totals = running[(i, name)] = _Running(0 if t == INT else Decimal(0))
                base, counts = sbs.changes(i, name)
                totals.base = base if base is not None else totals.base
                totals.counts = counts
                totals.change = sum((d * n for d, n in counts.items()), totals.change)
                if t == INT:
                    dists[(i, name)] = sbs.value_counts(i, name)
            else:
                crosstabs[(i, name)] = sbs.crosstab(i, name)
    _figures(comp, running, dists, crosstabs)
    ints = [n for n, t in outcomes if t == INT]
    if comp.records_total <= 200 and ints:
        per_policy = [dict(sbs.values_in_order(k, ints)) for k in range(len(runs))]
        for record_id in per_policy[0]:
            comp.per_record_values[record_id] = [(n, tuple(p[record_id][j] for p in per_policy))
                                                 for j, n in enumerate(ints)]
    summary_names = [n for n in runs[0].policy.summaries
                     if all(n in r.policy.summaries and r.policy.summaries[n].type == runs[0].policy.summaries[n].type
                            for r in runs)]
    if summary_names:
        computed = [sbs.summaries(k) for k in range(len(runs))]
        for name in summary_names:
            comp.summaries.append((name, runs[0].policy.summaries[name].type, tuple(x[name] for x in computed)))
    causes = _Causes(runs)
    names = [n for n, _ in outcomes]
    pending: list[tuple[str, list[tuple[str, Type]], list[dict]]] = []
    for record_id, cells in sbs.differing(names):
        values = [{n: cells[j][k] for j, n in enumerate(names)} for k in range(len(runs))]
        differing = [(n, t) for n, t in outcomes if any(v[n] != values[0][n] for v in values[1:])]
        comp.records_differing += 1
        if len(pending) < detail_limit:
            pending.append((record_id, differing, values))
        else:
            comp.diffs.append(causes.record(record_id, differing, values, [None] * len(runs)))
    traced = _traces_of(runs, sbs, [record_id for record_id, _, _ in pending])
    detailed = [causes.record(rid, differing, values, traced[rid]) for rid, differing, values in pending]
    comp.diffs[:0] = detailed


def _traces_of(runs: list[PolicyRun], sbs, record_ids: list[str]) -> dict[str, list[Trace | None]]:
    """Traces of a few records under every policy (the row evaluator re-reads just these records — all of them
    for a policy whose rules compare records with each other)."""
    wanted = set(record_ids)
    engines = [Engine(run.policy) for run in runs]
    inputs = [sbs.load(k, None if engine.cross else wanted) for k, engine in enumerate(engines)]
    shared = [_across_values(engine, run, inp, list(inp)) for engine, run, inp in zip(engines, runs, inputs)]
    return {rid: [_evaluated(engine, run, inp[rid], rid, known(rid), trace=True).trace
                  for run, engine, inp, known in zip(runs, engines, inputs, shared)] for rid in record_ids}


def _evaluated(engine: Engine, run: PolicyRun, values: dict, record_id: str, shared: dict, trace: bool = False):
    """One record under one policy, with its values across records (`_across_values`) if the policy has any."""
    if "error" in shared:
        return Result(record_id, {}, error=shared["error"])
    return engine.evaluate(values, run.as_of, trace=trace, record_id=record_id, known=shared.get("known"),
                           figures=shared.get("figures"))


def _across_values(engine: Engine, run: PolicyRun, inputs: dict[str, dict], order: list[str]):
    """For a policy whose rules compare records with each other: a function giving a record's values across the
    records (`known`, `figures`) from one pass over all of them; for other policies, nothing."""
    if not engine.cross:
        return lambda record_id: {}
    ids = [rid for rid in dict.fromkeys(order) if rid in inputs]
    context = engine.context([inputs[rid] for rid in ids], run.as_of)
    position = {rid: i for i, rid in enumerate(ids)}

    def known(record_id: str) -> dict:
        i = position[record_id]
        if i in context.errors:
            return {"error": context.errors[i]}
        return {"known": context.known[i], "figures": context.figures[i]}
    return known


def _summaries(engine: Engine, run: PolicyRun, rows: list[dict]) -> dict[str, object]:
    """Every summary over the records compared, as `Engine.run` computes them (in dependency order, each one
    visible to the later ones)."""
    base, _ = engine._base(run.as_of)
    v = base.copy()
    v[engine.slots["<records>"]] = tuple(rows)
    out = {}
    for name, fn in engine.summaries.items():
        t = run.policy.summaries[name].type
        try:
            value = fn(v, None)
            value = round_money(value) if t == MONEY and isinstance(value, Decimal) else value
        except (EvaluationError, ArithmeticError) as exc:
            value = f"error: {exc}"
        out[name] = value
        if name in engine.slots:
            v[engine.slots[name]] = value
    return out


def _sort_key(value: object, t: Type) -> tuple:
    if isinstance(t, EnumType) and value in t.labels:
        return (0, t.labels.index(value), "")
    return (1, 0, format_value(value, t))


class _Running:
    """One numeric outcome, baseline vs one other policy, accumulated record by record: exact Decimal/int sums
    and a count of each distinct change (enough for the exact median, min, max, gain/lose/same)."""

    __slots__ = ("base", "change", "counts")

    def __init__(self, zero: int | Decimal) -> None:
        self.base = zero
        self.change = zero
        self.counts: Counter = Counter()


def _totals(name: str, t: Type, label: str, running: _Running, dist: Counter | None) -> NumericTotals:
    counts = running.counts
    n = sum(counts.values())
    total_base, change = running.base, running.change
    places = Decimal("0.01") if t in (MONEY, INT) else Decimal("0.0001")
    mean = (Decimal(change) / n).quantize(places, ROUND_HALF_UP) if n else None
    ordered = sorted(counts)  # the distinct changes, smallest first

    def nth(k: int) -> object:  # the k-th change (0-based) of all n in sorted order
        for value in ordered:
            k -= counts[value]
            if k < 0:
                return value
        raise IndexError(k)

    if not n:
        median = None
    elif n % 2:
        median = nth(n // 2)
    else:
        a, b = nth(n // 2 - 1), nth(n // 2)
        median = (Decimal(a) + Decimal(b)) / 2
        if t == INT and median == median.to_integral_value():
            median = int(median)
    distribution = ()
    if dist is not None:
        values = sorted({v for v, _ in dist})
        distribution = tuple((v, dist[(v, 0)], dist[(v, 1)]) for v in values)
    return NumericTotals(name, t, label, n, total_base, total_base + change, change, mean, median,
                         ordered[0] if n else None, ordered[-1] if n else None,
                         sum(c for v, c in counts.items() if v > 0), sum(c for v, c in counts.items() if v < 0),
                         sum(c for v, c in counts.items() if v == 0), distribution)


def _path(base: ir.Policy, other: ir.Policy, ta: Trace, tb: Trace, up: set[str]) -> tuple[PathStep, ...]:
    nodes = []
    for name in _ordered(base, other, up & (set(ta.steps) | set(tb.steps))):
        sa, sb = ta.steps.get(name), tb.steps.get(name)
        if sa is not None and sb is not None and sa.value == sb.value and sa.row == sb.row:
            continue
        node = base.nodes.get(name) or other.nodes[name]
        kind = "outcome" if node.is_outcome and node.kind == "fact" else node.kind
        nodes.append(PathStep(kind, name, (sa.value if sa else None, sb.value if sb else None), node.type,
                              (sa.row if sa else None, sb.row if sb else None)))
    moved = {s.name for s in nodes}
    params = []
    for name in _ordered(base, other, up & (set(base.params) | set(other.params))):
        pa, pb = ta.params.get(name), tb.params.get(name)
        va, vb = (pa.value if pa else None), (pb.value if pb else None)
        if va == vb and (pa is None) == (pb is None):
            continue
        # a param whose value differs matters here only if something that reads it moved
        if any(name in p.nodes[n].reads for n in moved for p in (base, other) if n in p.nodes):
            params.append(PathStep("param", name, (va, vb), (base.params.get(name) or other.params[name]).type))
    return tuple(params + nodes)


# ------------------------------------------------------------------------------------------------ structure

def _shape(x: object) -> object:
    """An IR value with citations, explanations, positions and origins left out: what evaluation depends on."""
    if is_dataclass(x) and not isinstance(x, type):
        return (type(x).__name__,) + tuple(_shape(getattr(x, f.name)) for f in fields(x)
                                           if f.name not in ("notes", "span", "origin") and f.compare)
    if isinstance(x, (tuple, list)):
        return tuple(_shape(i) for i in x)
    if isinstance(x, dict):
        return tuple(sorted((k, _shape(v)) for k, v in x.items()))
    return x


def _param_shape(p: ir.Param) -> tuple:
    return (p.type, tuple((v.start, v.value) for v in p.values))


def _changed_names(base: ir.Policy, other: ir.Policy) -> set[str]:
    """Params and nodes defined differently (or only) in one of the two policies."""
    out = set()
    for name in set(base.params) | set(other.params):
        a, b = base.params.get(name), other.params.get(name)
        if a is None or b is None or _param_shape(a) != _param_shape(b):
            out.add(name)
    for name in set(base.nodes) | set(other.nodes):
        a, b = base.nodes.get(name), other.nodes.get(name)
        if a is None or b is None or _shape(a) != _shape(b):
            out.add(name)
    return out


def _ordered(base: ir.Policy, other: ir.Policy, names: Iterable[str]) -> list[str]:
    """Params first (declaration order), then nodes in the baseline's evaluation order; extras after."""
    names = set(names)
    seq = list(base.params) + [n for n in other.params if n not in base.params] + \
        list(base.nodes) + [n for n in other.nodes if n not in base.nodes]
    seen = dict.fromkeys(n for n in seq if n in names)
    return list(seen)


def _kind(policy: ir.Policy, name: str) -> str | None:
    if name in policy.params:
        return "param"
    node = policy.nodes.get(name)
    if node is None:
        return None
    if node.kind == "fact":
        return "outcome" if node.is_outcome else "fact"
    return ("outcome " if node.is_outcome else "") + node.kind


def _describe(base: ir.Policy, other: ir.Policy, name: str) -> str:
    return f"{_kind(base, name) or _kind(other, name)} {name}"


def _source_text(span) -> str | None:
    try:
        lines = Path(span.file).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    end = span.end_line if span.end_line >= span.line else span.line
    return "\n".join(lines[span.line - 1:end]).rstrip()


def _structure(runs: list[PolicyRun]) -> tuple[list[DeclDiff], list[tuple[str, tuple[str | None, ...]]]]:
    if len(runs) < 2:
        return [], []
    policies = [r.policy for r in runs]
    base = policies[0]
    names: list[str] = []
    for p in policies:
        names += [n for n in p.params if n not in names]
    for p in policies:
        names += [n for n in p.nodes if n not in names]
    out = []
    for name in names:
        if not any(name in _changed_names(base, p) for p in policies[1:]):
            continue
        decls = [p.params.get(name) or p.nodes.get(name) for p in policies]
        kind = next(_kind(p, name) for p in policies if _kind(p, name))
        texts = tuple(_source_text(d.span) if d is not None else None for d in decls)
        notes = []
        if isinstance(decls[0], ir.Param):
            for run, d in zip(runs, decls):
                if isinstance(d, ir.Param):
                    pv = d.value_at(run.as_of)
                    notes.append(f"{run.label}: {format_value(pv.value, d.type) if pv else '(no value)'} "
                                 f"on {run.as_of.isoformat()}")
        elif all(isinstance(d, ir.Node) and isinstance(d.body, ir.TableBody) for d in decls):
            rows = [d.body.rows for d in decls]
            for k in range(max(len(r) for r in rows)):
                shapes = [_shape(r[k]) if k < len(r) else None for r in rows]
                if any(s != shapes[0] for s in shapes[1:]):
                    notes.append(f"row {k + 1} differs")
        for run, d in zip(runs, decls):
            if d is None:
                notes.append(f"not defined in {run.label}")
        out.append(DeclDiff(kind, name, texts, tuple(notes)))
    field_names = list(dict.fromkeys(n for p in policies for n in p.subject.field_names))
    field_diffs = []
    for name in field_names:
        types = tuple(str(p.subject.field(name)) if p.subject.field(name) is not None else None for p in policies)
        if len(set(types)) > 1:
            field_diffs.append((name, types))
    return out, field_diffs


# ------------------------------------------------------------------------------------------------ JSON

def _jv(value: object, t: Type | None = None) -> object:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Decimal):
        return format_value(value, t) if t in (MONEY, PERCENT) else format_value(value)
    return format_value(value, t)


def _to_dict(c: Comparison) -> dict:
    return {
        "records": c.records_path,
        "baseline": c.compared[0].label if c.compared else None,
        "policies": [{
            "label": r.label, "path": r.path, "name": r.policy.name, "title": r.policy.title,
            "as_of": r.as_of.isoformat(), "compared": r.runnable,
            "missing_fields": [m.message for m in r.missing], "setup_error": r.setup_error,
            "records_loaded": r.loaded, "records_failed_to_load": r.failed_ids,
            "data_errors": [e.render() for e in r.data_errors],
            "evaluation_errors": [{"record": i, "error": e} for i, e in r.evaluation_errors],
        } for r in c.runs],
        "outcomes": {
            "common": [{"name": n, "type": str(t)} for n, t in c.common_outcomes],
            "only_in": c.only_in,
            "type_differs": [{"name": n, "types": list(ts)} for n, ts in c.type_mismatch],
        },
        "counts": {"records": c.records_total, "compared": c.records_compared, "differing": c.records_differing},
        "totals": [{
            "outcome": t.outcome, "type": str(t.type), "policy": t.policy, "records": t.count,
            "total_baseline": _jv(t.total_base, t.type), "total_other": _jv(t.total_other, t.type),
            "change": _jv(t.change, t.type), "mean_change": _jv(t.mean_change),
            "median_change": _jv(t.median_change, t.type if t.type != INT else None),
            "min_change": _jv(t.min_change, t.type), "max_change": _jv(t.max_change, t.type),
            "gain": t.gain, "lose": t.lose, "same": t.same,
            **({"distribution": [{"value": v, "baseline": a, "other": b} for v, a, b in t.distribution]}
               if t.distribution else {}),
        } for t in c.numeric],
        "summaries": [{"name": n, "type": str(t), "values": {label: _jv(v, t) for label, v in zip(c.labels, vs)}}
                      for n, t, vs in c.summaries],
        "crosstabs": [{
            "outcome": x.outcome, "type": str(x.type), "policy": x.policy,
            "cells": [{"baseline": _jv(a, x.type), "other": _jv(b, x.type), "count": n} for a, b, n in x.cells],
        } for x in c.crosstabs],
        "structure": [{"kind": d.kind, "name": d.name, "texts": dict(zip(c.labels, d.texts)),
                       "notes": list(d.notes)} for d in c.structure],
        "subject_fields_differ": [{"field": n, "types": dict(zip(c.labels, ts))} for n, ts in c.field_differences],
        "records_differing": [{
            "record": d.record_id,
            "outcomes": [{
                "outcome": o.outcome, "type": str(o.type),
                "values": {label: _jv(v, o.type) for label, v in zip(c.labels, o.values)},
                "causes": [{
                    "policy": cause.policy, "changed": list(cause.changed),
                    **({"path": [_step_dict(s) for s in cause.path]} if cause.path is not None else {}),
                } for cause in o.causes],
            } for o in d.outcomes],
        } for d in c.diffs],
    }


def _step_dict(s: PathStep) -> dict:
    out = {"kind": s.kind, "name": s.name, "baseline": _jv(s.values[0], s.type), "other": _jv(s.values[1], s.type)}
    if s.rows != (None, None):
        out["rows"] = list(s.rows)
    return out


# ------------------------------------------------------------------------------------------------ text helpers

def _fmt(value: object, t: Type | None) -> str:
    if value is None:
        return "—"
    return format_value(value, t)


def _signed(value: object, t: Type | None) -> str:
    if value is None:
        return "—"
    text = format_value(value, t)
    return text if text.startswith("-") or value == 0 else "+" + text


def _step_text(s: PathStep) -> str:
    text = f"{s.kind} {s.name}: {_fmt(s.values[0], s.type)} → {_fmt(s.values[1], s.type)}"
    if s.rows != (None, None) and s.rows[0] != s.rows[1]:
        text += f" (row {s.rows[0] or '—'} → row {s.rows[1] or '—'})"
    return text


def _cause_text(cause: Cause) -> str:
    parts = []
    if cause.path:
        parts.append("; ".join(_step_text(s) for s in cause.path))
    if cause.changed:
        parts.append("differs in definition: " + ", ".join(cause.changed))
    if not parts:
        parts.append("no declaration upstream differs (inputs read differently?)")
    return (f"[{cause.policy}] " if cause.policy else "") + " — ".join(parts)


def _total_rows(c: Comparison) -> list[tuple[str, ...]]:
    rows = []
    for t in c.numeric:
        rows.append((t.outcome, str(t.type), t.policy, str(t.count), _fmt(t.total_base, t.type),
                     _fmt(t.total_other, t.type), _signed(t.change, t.type), _signed(t.mean_change, None),
                     _signed(t.median_change, t.type if t.type != INT else None),
                     _signed(t.min_change, t.type), _signed(t.max_change, t.type),
                     str(t.gain), str(t.lose), str(t.same)))
    return rows


TOTAL_HEADER = ("outcome", "type", "vs baseline", "records", "total (baseline)", "total (other)", "change",
                "mean change", "median change", "min change", "max change", "gain", "lose", "same")


# ------------------------------------------------------------------------------------------------ Markdown

_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]|!#"} | {"<": "&lt;", ">": "&gt;"})


def _md_cell(text: object) -> str:
    """A value inside a Markdown report: no link, image, HTML tag, heading or table cell can start in it."""
    lines = printable_lines(str(text)).translate(_MD_SPECIAL).splitlines() or [""]
    return "<br>".join(lines)


def _md_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    out = ["| " + " | ".join(_md_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(_md_cell(x) for x in row) + " |" for row in rows]
    return out


def _markdown(c: Comparison, charts_prefix: str | None, max_records: int,
              charts: list[tuple[str, str]] | None = None) -> str:
    out = ["# Policy comparison", ""]
    out.append(f"Records: `{c.records_path}` — {c.records_total} record(s), {c.records_compared} compared under "
               f"every policy, {c.records_differing} with at least one differing outcome.")
    out += ["", "## Policies", ""]
    out += _md_table(("label", "file", "policy", "evaluated as of", "status"), [
        (r.label + (" (baseline)" if c.compared and r is c.compared[0] else ""), r.path,
         f"{r.policy.name}" + (f" — {r.policy.title}" if r.policy.title else ""), r.as_of.isoformat(),
         _status(r)) for r in c.runs])
    notes = problems(c)
    if notes:
        out += ["", "## Not compared", ""] + [f"- {_md_cell(n)}" for n in notes]
    if c.only_in or c.type_mismatch:
        extra = [f"- outcome {n} only in {label}" for label, names in c.only_in.items() for n in names]
        extra += [f"- outcome {n} has different types: {', '.join(ts)}" for n, ts in c.type_mismatch]
        if extra:
            out += ["", "## Outcomes not in every policy", ""] + extra
    out += ["", "## Structural differences", ""]
    if not c.structure and not c.field_differences:
        out.append("The policies define the same params and rules.")
    for d in c.structure:
        out += [f"### {d.kind} {d.name}", ""]
        if d.notes:
            out += [f"- {_md_cell(n)}" for n in d.notes] + [""]
        for label, text in zip(c.labels, d.texts):
            out.append(f"**{label}**" + ("" if text is not None else ": not defined"))
            if text is not None:
                out += ["", "```", text, "```"]
            out.append("")
    if c.field_differences:
        out += ["### subject fields", ""]
        out += _md_table(("field",) + tuple(c.labels), [(n,) + tuple(t or "—" for t in ts)
                                                         for n, ts in c.field_differences])
    if c.numeric:
        out += ["", "## Totals (numbers)", "",
                "Changes are other − baseline per record; means are rounded half up to 2 places (4 for "
                "decimal/percent); everything else is exact.", ""]
        out += _md_table(TOTAL_HEADER, _total_rows(c))
        for t in c.numeric:
            if t.distribution and t.change != 0 and len(t.distribution) <= 40:
                out += ["", f"Distribution of {t.outcome} (baseline vs {t.policy}):", ""]
                out += _md_table(("value", "baseline", t.policy), [(str(v), str(a), str(b))
                                                                   for v, a, b in t.distribution])
    if c.summaries:
        out += ["", "## Summaries over the records compared", ""]
        out += _md_table(("summary",) + tuple(c.labels), [(n,) + tuple(_fmt(v, t) for v in vs)
                                                          for n, t, vs in c.summaries])
    if c.crosstabs:
        out += ["", "## Decisions (crosstabs)", ""]
        for x in c.crosstabs:
            out += [f"{x.outcome} — baseline → {x.policy}:", ""]
            out += _md_table(("baseline", x.policy, "records"), [(_fmt(a, x.type), _fmt(b, x.type), str(n))
                                                                 for a, b, n in x.cells])
            out.append("")
    if c.per_record_values and any(t.change != 0 for t in c.numeric if t.type == INT):
        moved = [t.outcome for t in c.numeric if t.type == INT and t.change != 0 and t.policy == c.labels[1]]
        if moved:
            out += ["", "## Per record (int outcomes that moved)", ""]
            header = ("record",) + tuple(f"{n} ({label})" for n in moved for label in c.labels)
            rows = []
            for rid, vals in c.per_record_values.items():
                d = dict(vals)
                rows.append((rid,) + tuple(str(d[n][k]) for n in moved for k in range(len(c.labels))))
            out += _md_table(header, rows)
    charts = charts if charts is not None else []
    if charts and charts_prefix:
        out += ["", "## Charts", ""]
        out += [f"![{_md_cell(title)}]({charts_prefix}.chart{i}.svg)" for i, (title, _) in enumerate(charts, 1)]
    out += ["", "## Records that differ", ""]
    if not c.diffs:
        out.append("No outcome differs for any record.")
    shown = c.diffs[:max_records]
    rows = []
    for d in shown:
        for o in d.outcomes:
            rows.append((d.record_id, o.outcome) + tuple(_fmt(v, o.type) for v in o.values)
                        + ("<br>".join(_cause_text(x) for x in o.causes),))
    if rows:
        out += _md_table(("record", "outcome") + tuple(c.labels) + ("why",), rows)
    if len(c.diffs) > len(shown):
        out += ["", f"… and {len(c.diffs) - len(shown)} more record(s); the JSON report lists all of them."]
    return "\n".join(out) + "\n"


def _status(r: PolicyRun) -> str:
    if r.missing:
        return "not compared: needs fields the records lack"
    if r.setup_error:
        return "not compared: " + r.setup_error
    bad = len(r.failed_ids) + len(r.evaluation_errors)
    return f"{r.loaded} loaded" + (f", {bad} failed" if bad else "")


def problems(c: Comparison) -> list[str]:
    """Every reason something was not compared: missing fields, setup errors, bad records, evaluation errors."""
    out = []
    for r in c.runs:
        out += [m.message for m in r.missing]
        if r.setup_error:
            out.append(f"policy {r.label}: {r.setup_error}")
        out += [f"policy {r.label}: {e.render()}" for e in r.data_errors]
        out += [f"policy {r.label}: record {i}: evaluation error: {e}" for i, e in r.evaluation_errors]
    return out


# ------------------------------------------------------------------------------------------------ charts

def _charts(c: Comparison) -> list[tuple[str, str]]:
    if len(c.compared) < 2:
        return []
    import matplotlib
    matplotlib.use("Agg", force=False)
    specs: list[tuple[str, Callable]] = []
    seen: set[tuple] = set()
    wide: set[int] = set()  # per-record bar charts get a wider figure
    for t in c.numeric:
        if t.change == 0 and t.min_change == t.max_change == 0:
            continue
        i = c.labels.index(t.policy)
        moves = tuple((d.record_id, o.values[i] - o.values[0]) for d in c.diffs for o in d.outcomes
                      if o.outcome == t.outcome)
        if (t.policy, t.type, moves) in seen:  # e.g. a total that moves exactly like its one changing part
            continue
        seen.add((t.policy, t.type, moves))
        if t.type in (MONEY, DECIMAL, PERCENT) and len(specs) < MAX_CHARTS:
            specs.append((f"Change of {t.outcome} per record: {t.policy} − baseline",
                          lambda ax, t=t: _hist(ax, c, t)))
        elif t.type == INT and len(specs) < MAX_CHARTS:
            if c.per_record_values and len(c.per_record_values) <= 150:
                specs.append((f"{t.outcome} per {c.compared[0].policy.subject.name}",
                              lambda ax, t=t: _per_record(ax, c, t)))
                wide.add(len(specs))
            elif t.distribution:
                specs.append((f"Distribution of {t.outcome}", lambda ax, t=t: _distribution(ax, c, t)))
    width = min(16.0, max(7.5, 0.1 * len(c.per_record_values)))
    return [(title, _svg(title, draw, i, width if i in wide else 7.5))
            for i, (title, draw) in enumerate(specs, start=1)]


def _svg(title: str, draw: Callable, number: int, width: float = 7.5) -> str:
    import matplotlib
    from matplotlib.figure import Figure
    rc = {"svg.hashsalt": "policydsl-compare", "svg.id": f"policydsl-chart-{number}", "svg.fonttype": "none",
          "font.family": "sans-serif",
          "font.sans-serif": ["Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei",
                              "SimHei", "DejaVu Sans"],
          "axes.unicode_minus": False, "path.simplify": True}
    with matplotlib.rc_context(rc), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # CJK glyphs are missing from the measuring font; browsers draw them
        logger = logging.getLogger("matplotlib.font_manager")
        level = logger.level
        logger.setLevel(logging.ERROR)
        try:
            fig = Figure(figsize=(width, 3.6))
            ax = fig.add_subplot()
            draw(ax)
            ax.set_title(title, fontsize=10)
            fig.tight_layout()
            buf = io.StringIO()
            fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": "policydsl"})
        finally:
            logger.setLevel(level)
    text = buf.getvalue()
    start = text.find("<svg")
    return _prefix_ids(text[start:] if start >= 0 else text, f"c{number}-")


def _prefix_ids(svg: str, prefix: str) -> str:
    """Give every id inside one chart a prefix, so that several charts in one HTML page never share an id."""
    root = "policydsl-chart-"

    def fix(m: re.Match) -> str:
        name = m.group(2)
        return m.group(1) + (name if name.startswith(root) else prefix + name) + m.group(3)
    svg = re.sub(r'(\bid=")([^"]+)(")', fix, svg)
    svg = re.sub(r'(url\(#)([^)]+)(\))', fix, svg)
    return re.sub(r'(href="#)([^"]+)(")', fix, svg)


def _hist(ax, c: Comparison, t: NumericTotals) -> None:
    i = c.labels.index(t.policy)
    values = [float(o.values[i] - o.values[0]) for d in c.diffs for o in d.outcomes if o.outcome == t.outcome]
    unchanged = t.same
    counts = Counter(values)
    if 0 < len(counts) <= 30:  # few distinct changes: one bar each, labelled with the exact amount
        keys = sorted(counts)
        ax.bar(range(len(keys)), [counts[k] for k in keys], color="#3b7dd8")
        ax.set_xticks(range(len(keys)))
        ax.set_xticklabels([f"{k:+,.2f}" if t.type == MONEY else f"{k:+g}" for k in keys], rotation=45, fontsize=7)
    elif values:
        ax.hist(values, bins=30, color="#3b7dd8", edgecolor="white")
    ax.set_xlabel(f"change ({'yuan' if t.type == MONEY else t.type}); {unchanged} record(s) unchanged not drawn")
    ax.set_ylabel("records")


def _per_record(ax, c: Comparison, t: NumericTotals) -> None:
    ids = list(c.per_record_values)
    width = 0.8 / len(c.labels)
    for k, label in enumerate(c.labels):
        ys = [dict(c.per_record_values[r])[t.outcome][k] for r in ids]
        ax.bar([x + k * width for x in range(len(ids))], ys, width=width, label=label)
    ax.set_xticks([x + width * (len(c.labels) - 1) / 2 for x in range(len(ids))])
    ax.set_xticklabels(ids, rotation=90, fontsize=6)
    ax.legend(fontsize=8)


def _distribution(ax, c: Comparison, t: NumericTotals) -> None:
    values = [v for v, _, _ in t.distribution]
    width = 0.4
    ax.bar([x - width / 2 for x in range(len(values))], [a for _, a, _ in t.distribution], width=width,
           label=c.labels[0])
    ax.bar([x + width / 2 for x in range(len(values))], [b for _, _, b in t.distribution], width=width,
           label=t.policy)
    ax.set_xticks(range(len(values)))
    ax.set_xticklabels([str(v) for v in values], fontsize=7)
    ax.set_ylabel("records")
    ax.legend(fontsize=8)


# ------------------------------------------------------------------------------------------------ HTML

_CSS = """
body { font-family: "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; vertical-align: top; text-align: left; }
th { background: #f2f2f2; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f7f7f7; padding: 0.5em; margin: 0; white-space: pre-wrap; font-size: 0.85em; }
.side { display: grid; gap: 0.5em; }
.problem { color: #a40000; }
figure { margin: 1em 0; } svg { max-width: 100%; height: auto; }
"""


def _html(c: Comparison, max_records: int) -> str:
    from jinja2 import Environment
    from markupsafe import Markup
    env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["fmt"] = _fmt
    env.filters["signed"] = _signed
    template = env.from_string(_HTML)
    charts = [(title, Markup(svg)) for title, svg in c.charts()]  # matplotlib's own SVG output, not user text
    return template.render(c=c, css=_CSS, problems=problems(c), totals=_total_rows(c), total_header=TOTAL_HEADER,
                           charts=charts, diffs=c.diffs[:max_records], more=max(0, len(c.diffs) - max_records),
                           cause_text=_cause_text, status=_status, INT=INT,
                           moved=[t.outcome for t in c.numeric if t.type == INT and t.change != 0
                                  and len(c.labels) > 1 and t.policy == c.labels[1]])


_HTML = """<!DOCTYPE html>
<html lang="zh">
<head>
<meta charset="utf-8">
<title>Policy comparison — {{ c.labels | join(" vs ") }}</title>
<style>{{ css }}</style>
</head>
<body>
<h1>Policy comparison</h1>
<p>Records: <code>{{ c.records_path }}</code> — {{ c.records_total }} record(s), {{ c.records_compared }} compared
under every policy, {{ c.records_differing }} with at least one differing outcome.</p>
<h2>Policies</h2>
<table>
<tr><th>label</th><th>file</th><th>policy</th><th>evaluated as of</th><th>status</th></tr>
{% for r in c.runs %}
<tr><td>{{ r.label }}{% if c.compared and r is sameas c.compared[0] %} (baseline){% endif %}</td>
<td><code>{{ r.path }}</code></td><td>{{ r.policy.name }}{% if r.policy.title %} — {{ r.policy.title }}{% endif %}</td>
<td>{{ r.as_of.isoformat() }}</td><td>{{ status(r) }}</td></tr>
{% endfor %}
</table>
{% if problems %}
<h2>Not compared</h2>
<ul>{% for p in problems %}<li class="problem">{{ p }}</li>{% endfor %}</ul>
{% endif %}
{% if c.type_mismatch or (c.only_in.values() | select | list) %}
<h2>Outcomes not in every policy</h2>
<ul>
{% for label, names in c.only_in.items() %}{% for n in names %}<li>outcome {{ n }} only in {{ label }}</li>{% endfor %}{% endfor %}
{% for n, ts in c.type_mismatch %}<li>outcome {{ n }} has different types: {{ ts | join(", ") }}</li>{% endfor %}
</ul>
{% endif %}
<h2>Structural differences</h2>
{% if not c.structure and not c.field_differences %}<p>The policies define the same params and rules.</p>{% endif %}
{% for d in c.structure %}
<h3>{{ d.kind }} {{ d.name }}</h3>
{% if d.notes %}<ul>{% for n in d.notes %}<li>{{ n }}</li>{% endfor %}</ul>{% endif %}
<table><tr>{% for label in c.labels %}<th>{{ label }}</th>{% endfor %}</tr>
<tr>{% for text in d.texts %}<td>{% if text is none %}<em>not defined</em>{% else %}<pre>{{ text }}</pre>{% endif %}</td>{% endfor %}</tr></table>
{% endfor %}
{% if c.field_differences %}
<h3>subject fields</h3>
<table><tr><th>field</th>{% for label in c.labels %}<th>{{ label }}</th>{% endfor %}</tr>
{% for n, ts in c.field_differences %}<tr><td>{{ n }}</td>{% for t in ts %}<td>{{ t or "—" }}</td>{% endfor %}</tr>{% endfor %}
</table>
{% endif %}
{% if totals %}
<h2>Totals (numbers)</h2>
<p>Changes are other − baseline per record; means are rounded half up to 2 places (4 for decimal/percent);
everything else is exact.</p>
<table><tr>{% for h in total_header %}<th>{{ h }}</th>{% endfor %}</tr>
{% for row in totals %}<tr>{% for cell in row %}<td{% if loop.index > 3 %} class="num"{% endif %}>{{ cell }}</td>{% endfor %}</tr>{% endfor %}
</table>
{% for t in c.numeric %}{% if t.distribution and t.change != 0 and t.distribution | length <= 40 %}
<p>Distribution of {{ t.outcome }} (baseline vs {{ t.policy }}):</p>
<table><tr><th>value</th><th>baseline</th><th>{{ t.policy }}</th></tr>
{% for v, a, b in t.distribution %}<tr><td class="num">{{ v }}</td><td class="num">{{ a }}</td><td class="num">{{ b }}</td></tr>{% endfor %}
</table>
{% endif %}{% endfor %}
{% endif %}
{% if c.summaries %}
<h2>Summaries over the records compared</h2>
<table><tr><th>summary</th>{% for label in c.labels %}<th>{{ label }}</th>{% endfor %}</tr>
{% for n, t, vs in c.summaries %}<tr><td>{{ n }}</td>{% for v in vs %}<td class="num">{{ v | fmt(t) }}</td>{% endfor %}</tr>{% endfor %}
</table>
{% endif %}
{% if c.crosstabs %}
<h2>Decisions (crosstabs)</h2>
{% for x in c.crosstabs %}
<p>{{ x.outcome }} — baseline → {{ x.policy }}:</p>
<table><tr><th>baseline</th><th>{{ x.policy }}</th><th>records</th></tr>
{% for a, b, n in x.cells %}<tr><td>{{ a | fmt(x.type) }}</td><td>{{ b | fmt(x.type) }}</td><td class="num">{{ n }}</td></tr>{% endfor %}
</table>
{% endfor %}
{% endif %}
{% if charts %}
<h2>Charts</h2>
{% for title, svg in charts %}<figure>{{ svg }}<figcaption>{{ title }}</figcaption></figure>
{% endfor %}
{% endif %}
{% if moved and c.per_record_values %}
<h2>Per record (int outcomes that moved)</h2>
<table><tr><th>record</th>{% for n in moved %}{% for label in c.labels %}<th>{{ n }} ({{ label }})</th>{% endfor %}{% endfor %}</tr>
{% for rid, vals in c.per_record_values.items() %}{% set d = dict(vals) %}<tr><td>{{ rid }}</td>{% for n in moved %}{% for v in d[n] %}<td class="num">{{ v }}</td>{% endfor %}{% endfor %}</tr>
{% endfor %}
</table>
{% endif %}
<h2>Records that differ</h2>
{% if not c.diffs %}<p>No outcome differs for any record.</p>{% else %}
<table><tr><th>record</th><th>outcome</th>{% for label in c.labels %}<th>{{ label }}</th>{% endfor %}<th>why</th></tr>
{% for d in diffs %}{% for o in d.outcomes %}<tr><td>{{ d.record_id }}</td><td>{{ o.outcome }}</td>
{% for v in o.values %}<td class="num">{{ v | fmt(o.type) }}</td>{% endfor %}
<td>{% for x in o.causes %}<div>{{ cause_text(x) }}</div>{% endfor %}</td></tr>
{% endfor %}{% endfor %}
</table>
{% if more %}<p>… and {{ more }} more record(s); the JSON report lists all of them.</p>{% endif %}
{% endif %}
</body>
</html>
"""  # noqa: E501  (one template line is a whole table row)
