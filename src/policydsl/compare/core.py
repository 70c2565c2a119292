"""Running the same records through every policy (row evaluator or DuckDB) and gathering the figures."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from .. import api, ir
from ..engines.records import FLAT_SUFFIXES, DataSetupError, load_records, read_rows
from ..engines.row import Engine, EvaluationError, Result, Trace
from ..types import INT, MONEY, EnumType, ListOf, Type, format_value, round_money
from .causes import _Causes, _structure
from .groups import (
    change_size,
    labels_beside,
    name_and_groups,
    primary_outcome,
    row_groups,
    row_labels,
    sql_group_table,
    sql_group_totals,
)
from .model import NUMERIC_TYPES, Comparison, Crosstab, MissingField, NumericTotals, PolicyRun
from .spool import Spool

# ------------------------------------------------------------------------------------------------ the comparison

def compare(policies: Sequence[str | Path | ir.Policy], records_path: str | Path, *,
            related: dict[str, str | Path] | None = None, as_of: date | Sequence[date | None] | None = None,
            labels: Sequence[str] | None = None, detail_limit: int = 1000,
            progress: Callable[[int], None] | None = None,
            stage: Callable[[str, int | None], None] | None = None, engine: str = "duckdb") -> Comparison:
    """Run the same records through 2+ policies (the first is the baseline) and compare everything.

    `policies` are paths (checked with `api.load_policy`, which raises PolicyError) or checked `ir.Policy`s.
    `related` maps relation field names to files (as `run --related`); each policy uses the ones it declares.
    `as_of` is one date for every policy, or one date (or None) per policy — the same policy twice at two dates
    compares a mid-year change; without it each policy uses its own effective date.
    `progress(n)` is called as records are compared (n at a time, in batches); `stage(description, total)` when a
    phase starts ("loading records (label)" with total None, then "comparing" with the number of records).
    `engine` "duckdb" computes every figure in SQL (bounded memory; the row evaluator only traces the first
    `detail_limit` differing records); "row" evaluates every record in Python. Both give the same comparison.
    """
    if len(policies) < 2:
        raise ValueError("a comparison needs at least two policies")
    loaded = [p if isinstance(p, ir.Policy) else api.load_policy(p) for p in policies]
    dates = _dates(as_of, len(loaded))
    when = [d or Engine(p).default_as_of() for d, p in zip(dates, loaded)]
    labels = list(labels) if labels else _labels([p.path for p in loaded], when)
    related = {k: str(v) for k, v in (related or {}).items()}
    records_path = str(records_path)
    runs = [PolicyRun(label, p.path, p, d) for label, p, d in zip(labels, loaded, when)]

    columns = _columns(records_path)
    for run in runs:
        run.missing = _missing_fields(run, columns, related)
    if engine != "row":
        comp = _compare_in_sql(runs, records_path, related, detail_limit, stage, progress)
        comp.related = related
        comp.dates_differ = len({r.as_of for r in comp.compared}) > 1
        return comp
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
    comp.related = related
    comp.dates_differ = len({r.as_of for r in comp.compared}) > 1
    comp.records_total = len(order)
    _match_outcomes(comp)
    comp.structure, comp.field_differences = _structure(comp.compared)
    if len(comp.compared) < 2:
        return comp
    if stage:
        stage("comparing", len(order))
    _evaluate(comp, [inputs[i] for i in compared_idx], order, detail_limit, progress)
    return comp


def _dates(as_of: date | Sequence[date | None] | None, n: int) -> list[date | None]:
    if as_of is None or isinstance(as_of, date):
        return [as_of] * n
    dates = list(as_of)
    if len(dates) != n:
        raise ValueError(f"{len(dates)} evaluation date(s) for {n} policies: give one, or one per policy")
    return dates


def _labels(paths: list[str], dates: list[date] | None = None) -> list[str]:
    """Short, distinct names: the file stem, with parent folders added while two are alike; the same file at
    several dates is named by its date (`pay@2024-06-30`)."""
    if dates and len(set(paths)) < len(paths) and len(set(zip(paths, dates))) == len(paths):
        stems = _labels(list(dict.fromkeys(paths)))
        named = dict(zip(dict.fromkeys(paths), stems))
        return [f"{named[p]}@{d.isoformat()}" for p, d in zip(paths, dates)]
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
    pending: list[tuple[str, list[tuple[str, Type]], list[dict], list[dict]]] = []
    numbers: list[tuple[str, list[dict]]] = []  # numeric outcomes of every compared record, for the groups
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
        numbers.append((record_id, [{n: r.values[n] for n in numeric_types} for r in results]))
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
        for i in range(1, len(runs)):
            if any(results[i].values[n] != base[n] for n, _ in differing):
                comp.affected[runs[i].label] = comp.affected.get(runs[i].label, 0) + 1
        pending.append((record_id, differing, [r.values for r in results], values))
    if progress and len(order) % step:
        progress(len(order) % step)

    if summary_names:
        computed = [_summaries(engine, run, rows) for engine, run, rows in zip(engines, runs, summary_rows)]
        for name in summary_names:
            comp.summaries.append((name, runs[0].policy.summaries[name].type, tuple(x[name] for x in computed)))
    _figures(comp, running, dists, crosstabs)
    comp.primary = primary_outcome(comp)
    pending.sort(key=lambda p: -change_size(comp, p[2]))  # stable: file order among equal changes
    rows = row_labels(comp)
    spool = Spool(outcomes)
    for k, (record_id, differing, results, values) in enumerate(pending):
        spool.add(record_id, {n: tuple(r[n] for r in results) for n, _ in differing},
                  *name_and_groups(comp, rows.get(record_id, {})))
        if k < detail_limit:
            traces = [_evaluated(engine, run, v, record_id, known(record_id), trace=True).trace
                      for run, engine, v, known in zip(runs, engines, values, shared)]
            comp.diffs.append(causes.record(record_id, differing, results, traces))
    comp.spool = spool.close(comp)
    row_groups(comp, numbers, rows)


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
    from ..engines.base import EngineUnavailable
    from ..engines.sql.side_by_side import SideBySide
    runnable = [run for run in runs if run.runnable]
    if stage:
        stage("evaluating on DuckDB", None)
    try:
        sbs = SideBySide([(run.policy, run.as_of) for run in runnable], records_path, related)
    except EngineUnavailable:
        return compare([run.policy for run in runs], records_path, related=related, engine="row",
                       labels=[run.label for run in runs], detail_limit=detail_limit,
                       as_of=[r.as_of for r in runs])
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
    comp.primary = primary_outcome(comp)
    pending: list[tuple[str, list[tuple[str, Type]], list[dict]]] = []
    spool = Spool(outcomes)
    # largest change of the primary outcome first; every differing record goes to the spool, the first
    # `detail_limit` are kept with their traces
    beside = sql_group_table(comp, sbs)
    for record_id, cells, *extra in sbs.differing(names, by=comp.primary, beside=beside):
        name, groups = labels_beside(comp, beside, extra[0] if extra else ())
        values = [{n: cells[j][k] for j, n in enumerate(names)} for k in range(len(runs))]
        differing = [(n, t) for n, t in outcomes if any(v[n] != values[0][n] for v in values[1:])]
        comp.records_differing += 1
        for i in range(1, len(runs)):
            if any(values[i][n] != values[0][n] for n, _ in differing):
                comp.affected[runs[i].label] = comp.affected.get(runs[i].label, 0) + 1
        spool.add(record_id, {n: tuple(v[n] for v in values) for n, _ in differing}, name, groups)
        if len(pending) < detail_limit:
            pending.append((record_id, differing, values))
            comp.record_groups[record_id] = groups
            if name:
                comp.record_names[record_id] = name
    comp.spool = spool.close(comp)
    traced = _traces_of(runs, sbs, [record_id for record_id, _, _ in pending])
    comp.diffs = [causes.record(rid, differing, values, traced[rid]) for rid, differing, values in pending]
    sql_group_totals(comp, sbs)


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
                         sum(c for v, c in counts.items() if v == 0), distribution,
                         tuple((v, counts[v]) for v in ordered))


