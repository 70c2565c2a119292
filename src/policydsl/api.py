"""The Python API: everything the command line does, as functions a program can call.

    from policydsl import api
    policy = api.load_policy("policies/jinyuan/star_rating.policy")      # raises PolicyError with diagnostics
    engine = api.compile_policy(policy)
    result = engine.evaluate({"年度考核": "优秀", ...}, trace=True)
    run = api.run_file(policy, "data/jinyuan/secretaries.csv")
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from . import ir
from .diagnostics import Diagnostic, PolicyError, SourceCache, render_all
from .engines.base import BatchResult, run_batch  # noqa: F401  (the API's batch entry point, re-exported)

if TYPE_CHECKING:
    from .engines.records import DataError, LoadResult
    from .engines.row import Engine, Result, RunReport
    from .semantics import Loader

#: Names of the row engine this module offers, imported when first asked for: a run on DuckDB never needs them.
_ROW_ENGINE = ("Engine", "Result", "RunReport")


def __getattr__(name: str):
    if name in _ROW_ENGINE:
        from .engines import row
        return getattr(row, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass
class CheckReport:
    """Diagnostics of one or more policy files, and the policies that checked clean."""

    sources: SourceCache
    diagnostics: list[Diagnostic] = field(default_factory=list)
    policies: dict[str, ir.Policy] = field(default_factory=dict)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def render(self) -> str:
        return render_all(self.diagnostics, self.sources)


def check_policy(path: str | Path, sources: SourceCache | None = None,
                 texts: dict[str, str] | None = None, warnings: bool = True
                 ) -> tuple[ir.Policy | None, list[Diagnostic], Loader]:
    """Check one policy file: syntax, names, types, cycles, then (with `warnings`) the analysis warnings.

    `texts` replaces files' contents (an editor's unsaved buffers). Returns the policy (None if it has errors),
    every diagnostic, and the loader (its `modules` are the parsed files, for editor features).
    """
    from .semantics import Loader  # here: a cached run (`check_cached`) needs no parser
    loader = Loader(sources)
    for name, text in (texts or {}).items():
        loader.parse_text(name, text)
    policy = loader.load(str(path))
    found = list(loader.diags.items)
    if policy is not None:
        from . import graph  # here: networkx loads only for a check, not for a cached run
        cycles = graph.cycle_diagnostics(policy, graph.build(policy))
        found.extend(cycles)
        refused = _template_diagnostics(policy)  # `explain` would refuse them: so does `check`
        found.extend(refused)
        if cycles or refused:
            policy = None
        elif warnings and not any(d.severity == "error" for d in found):
            from .analysis import analyse  # warnings only: they never make a file fail `check`
            found.extend(analyse(policy, loader.sources))
            found.extend(loader.label_warnings)  # `languages … en`: the names and notes without English
    return policy, found, loader


def _template_diagnostics(policy: ir.Policy) -> list[Diagnostic]:
    """The author templates the explainer would refuse (jinja2 is imported only when a policy has templates)."""
    if not any(getattr(n.notes, "explains", ()) for n in policy.nodes.values()) and not any(
            getattr(x.notes, "explains", ()) for n in policy.nodes.values()
            for x in getattr(n.body, "rows", ()) + getattr(n.body, "conditions", ())):
        return []
    from .explain import template_diagnostics
    return template_diagnostics(policy)


def check(paths: list[str | Path], warnings: bool = True) -> CheckReport:
    """Check policy files: syntax, names, types, dependency cycles. Every problem of every file is reported.

    `warnings=False` skips the analysis warnings (table overlaps, gaps, unused names): commands that only need
    a policy that loads (`run`, `explain`, …) do not pay for them; `check` and the editor show them."""
    report = CheckReport(SourceCache())
    seen: set[tuple] = set()
    for path in paths:
        policy, found, _ = check_policy(path, report.sources, warnings=warnings)
        if policy is not None:
            report.policies[str(path)] = policy
        for d in found:  # a shared import's mistakes are reported once, not once per importing file
            key = (d.span, d.message)
            if key not in seen:
                seen.add(key)
                report.diagnostics.append(d)
    return report


def check_cached(path: str | Path) -> CheckReport:
    """`check([path], warnings=False)` through the compile cache (`policydsl.cache`): a policy whose files are
    unchanged since it last checked clean is not parsed or checked again; a policy with errors is never cached,
    so its report is always a fresh one."""
    from . import cache
    report = CheckReport(SourceCache())
    policy = cache.load_policy(str(path))
    if policy is not None:
        report.policies[str(path)] = policy
        return report
    policy, found, loader = check_policy(path, report.sources, warnings=False)
    report.diagnostics.extend({(d.span, d.message): d for d in found}.values())  # once each, as `check` reports
    if policy is not None:
        report.policies[str(path)] = policy
        if report.ok:
            cache.save_policy(str(path), policy, [*loader.modules, *(x.path for x in policy.lists.values())])
    return report


def load_policy(path: str | Path) -> ir.Policy:
    """Load and check one policy; raises PolicyError (with every diagnostic) if it has errors (warnings are not
    looked for: nothing here would show them)."""
    report = check([path], warnings=False)
    if not report.ok or str(path) not in report.policies:
        raise PolicyError(report.errors, report.sources)
    return report.policies[str(path)]


def compile_policy(policy: ir.Policy) -> Engine:
    """Compile a checked policy into an evaluator (do it once, evaluate many records)."""
    from .engines.row import Engine
    return Engine(policy)


@dataclass
class RunOutcome:
    """A whole run: the records that failed to load, the evaluation results, the summaries."""

    policy: ir.Policy
    loaded: "LoadResult"
    report: "RunReport"

    @property
    def data_errors(self) -> list["DataError"]:
        return self.loaded.errors

    @property
    def evaluation_failures(self) -> list[Result]:
        return self.report.failed

    @property
    def ok_count(self) -> int:
        return len(self.report.results) - len(self.report.failed)

    @property
    def failed_count(self) -> int:
        return len(self.loaded.failed_ids) + len(self.report.failed)

    def rows(self) -> list[dict[str, object]]:
        """One output row per successfully evaluated record: its id, then every outcome."""
        key = self.policy.subject.key or "id"
        return [{key: r.record_id, **r.values} for r in self.report.results if r.ok]


def run_file(policy: ir.Policy, records_path: str | Path, as_of: date | None = None,
             related: dict[str, str | Path] | None = None, trace: bool = False,
             progress: Callable[[int], None] | None = None, engine: Engine | None = None) -> RunOutcome:
    """Load records from a file (CSV, JSON, JSONL, XLSX), evaluate them all, compute summaries."""
    from .engines.records import load_records  # the data layer is needed only when records are run
    from .engines.row import Engine
    loaded = load_records(records_path, policy.subject, policy.records, related or {})
    engine = engine or Engine(policy)
    report = engine.run(((r.id, r.values) for r in loaded.records), as_of, trace, progress)
    return RunOutcome(policy, loaded, report)


def output_types(policy: ir.Policy) -> dict[str, object]:
    """The type of every output column, for formatting results."""
    from .types import TEXT
    key = policy.subject.key or "id"
    return {key: TEXT, **{n.name: n.type for n in policy.outcomes}}


@dataclass(frozen=True)
class ExampleOutcome:
    """One `example` block run: which expectations failed, with expected and actual values."""

    example: ir.Example
    mismatches: tuple[tuple[str, object, object], ...]  # (name, expected, actual)
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and not self.mismatches


def run_examples(policy: ir.Policy, engine: Engine | None = None, on: str = "row") -> list[ExampleOutcome]:
    """Evaluate every example block of a policy and compare the expected values.

    `on` chooses the engine ("row", "duckdb" or "spark"); every engine must pass the same examples.
    """
    from .engines.row import Engine, SetupError
    values_of = _example_values(policy, on) if on != "row" else None
    engine = engine or Engine(policy)
    outcomes = []
    for index, ex in enumerate(policy.examples):
        if values_of is not None:
            by_record, summaries = values_of[index]
        else:
            try:
                by_record, summaries = engine.example_values(ex)
            except SetupError as exc:  # no value of a param in force on the example's date
                by_record, summaries = {r: str(exc) for r, _ in ex.records}, {}
        outcomes.append(_compared(ex, by_record, summaries))
    return outcomes


def expected_type(policy: ir.Policy, label: str):
    """The type of what a mismatch label names: a node, `record: node`, or a summary."""
    name = label.rpartition(": ")[2]
    return policy.nodes[name].type if name in policy.nodes else policy.summaries[name].type


def _compared(ex: ir.Example, by_record: dict[str, dict | str], summaries: dict[str, object]) -> ExampleOutcome:
    """The expectations of one example against the values its records got (a text: the record's error)."""
    several = len(ex.records) > 1
    for record_id, values in by_record.items():
        if isinstance(values, str):
            return ExampleOutcome(ex, (), f"record {record_id}: {values}" if several else values)
    wrong = []
    only = next(iter(by_record.values()))
    for e in ex.expects:
        if e.record is None and e.name in summaries:
            actual = summaries[e.name]
        else:
            actual = (by_record[e.record] if e.record is not None else only)[e.name]
        if actual != e.value:
            wrong.append((f"{e.record}: {e.name}" if several and e.record is not None else e.name, e.value, actual))
    return ExampleOutcome(ex, tuple(wrong))


def _example_records(ex: ir.Example) -> list[tuple[str, dict]]:
    return list(ex.records) or [("#1", ex.given)]


def _example_values(policy: ir.Policy, on: str) -> list[tuple[dict[str, dict | str], dict[str, object]]]:
    """(values or error by record id, summaries) of each example on a SQL engine.

    Examples of one record that expect no summary and share an as-of date run as one batch. An example of a policy
    whose rules read across records is its own batch (its records are the whole set its ranks and totals cover),
    and so is one with several records or expected summaries."""
    from .engines.sql.runner import evaluate_example, evaluate_records
    found: dict[int, tuple[dict, dict]] = {}
    alone = [i for i, ex in enumerate(policy.examples)
             if policy.across_records or len(ex.records) > 1 or any(e.name in policy.summaries for e in ex.expects)]
    for i in alone:
        ex = policy.examples[i]
        records = _example_records(ex)
        results, summaries = evaluate_example(policy, records, ex.as_of, dialect=on)
        found[i] = ({r: (res.error if res.error is not None else res.values) for (r, _), res in zip(records, results)},
                    summaries)
    rest = [i for i in range(len(policy.examples)) if i not in alone]
    dates = sorted({policy.examples[i].as_of for i in rest}, key=lambda d: (d is not None, d))
    for when in dates:
        chosen = [i for i in rest if policy.examples[i].as_of == when]
        batch = [(str(i), _example_records(policy.examples[i])[0][1]) for i in chosen]
        for i, r in zip(chosen, evaluate_records(policy, batch, when, dialect=on)):
            record_id = _example_records(policy.examples[i])[0][0]
            found[i] = ({record_id: r.error if r.error is not None else r.values}, {})
    return [found[i] for i in range(len(policy.examples))]


# ------------------------------------------------------------------------------------------------ the decision store
# (imported when first called: SQLAlchemy and Alembic load only for the commands that use a store)

def open_store(url: str | None = None):
    """Open (and migrate) a decision store: SQLite ./policydsl.db by default, or a database URL."""
    from .store import open_store as opening
    return opening(url)


def publish_batch(store, policy_path: str | Path, records_path: str | Path, *, as_of: date | None = None,
                  related: dict[str, str | Path] | None = None, created_by: str = "cli", why_not: bool = True,
                  progress: Callable[[int], None] | None = None):
    """Evaluate a policy on a records file and keep the whole batch in the store (see `store.batches`)."""
    from .store.batches import publish
    return publish(store, policy_path, records_path, as_of=as_of, related=related, created_by=created_by,
                   why_not=why_not, progress=progress)


def replay_batch(store, batch_id: int, new_policy: str | Path | None = None):
    """Re-evaluate a stored batch (a `ReplayReport`), or compare it with `new_policy` (a `compare.Comparison`)."""
    from .store.replay import replay, replay_compare
    if new_policy is None:
        return replay(store, batch_id)
    return replay_compare(store, batch_id, new_policy)


def verify_store(store):
    """Recompute every recorded row's hash and walk the ledger (a `store.VerifyReport`)."""
    from .store.ledger import verify
    return verify(store)
