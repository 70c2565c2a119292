"""Stage 4 — evaluation: compile a checked policy once into Python closures, then run records through them.

Every value lives in a flat list `v` (one slot per param, input field and node, in evaluation order); a compiled
expression is a closure `f(v, e)` where `e` is the current element inside an aggregate. No AST is walked per record
and no policy text is ever passed to `eval`.

With `trace=True` a second set of closures (compiled from the same IR by the same code) also records, per node, the
branch, table row or failed conditions that decided it and the inputs it read.
"""

from __future__ import annotations

import gc
import math
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import date
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal, InvalidOperation
from typing import NamedTuple

from .. import ir
from ..types import (
    DATE,
    DECIMAL,
    DURATION,
    FEN,
    INT,
    INT_MAX,
    INT_MIN,
    MONEY,
    PERCENT,
    WIDE,
    Duration,
    EnumType,
    Type,
    divide,
    format_value,
    int_beyond_range,
    multiply,
    round_money,
)
from .across import Entry, Figures, compute
from .base import SetupError  # noqa: F401  (raised here; `row.SetupError` for its users)

Fn = Callable[[list, object], object]
#: The words for a value Decimal cannot keep exactly.
BEYOND_RANGE = "a value beyond the 28 digits policydsl computes exactly"
OPERATORS = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le, "gt": operator.gt,
             "ge": operator.ge, "add": operator.add, "sub": operator.sub, "mul": operator.mul}
#: Decimal arithmetic that Python's default 28-digit context would round (see types.DECIMAL_PLACES).
EXACT = {"add": WIDE.add, "sub": WIDE.subtract, "mul": multiply}
ROUNDING = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN, "down": ROUND_DOWN, "up": ROUND_UP,
            "floor": ROUND_FLOOR, "ceiling": ROUND_CEILING}


class EvaluationError(Exception):
    """A rule could not be applied to one record (no table row matched, two unique rows matched, …)."""

    def __init__(self, message: str, node: str | None = None):
        self.node = node
        super().__init__(message)


# ------------------------------------------------------------------------------------------------ traces

@dataclass(frozen=True)
class ConditionResult:
    """One named condition of an eligibility block, with the values it read."""

    name: str
    passed: bool
    inputs: tuple[tuple[str, object], ...]


class Step(NamedTuple):
    """How one node got its value. A NamedTuple (immutable, and cheap to build: one per node per record)."""

    name: str
    kind: str
    value: object
    type: Type
    inputs: tuple[tuple[str, object], ...]
    row: int | None = None                         # the deciding table row (1-based)
    decisions: tuple[str, ...] = ()                # if/match branches taken, in order
    conditions: tuple[ConditionResult, ...] = ()   # eligibility: every condition


@dataclass(frozen=True)
class Trace:
    """How a record's values came about: a step per node, the params in force, and the figures of each value
    across records it used (by `ir.Across.index`)."""

    steps: dict[str, Step]
    params: dict[str, ir.ParamValue]
    as_of: date
    across: dict[int, Figures] = field(default_factory=dict)
    shared: dict[str, object] = field(default_factory=dict)  # summaries and values across records it read, by slot


@dataclass
class Context:
    """What a run computed across its records, before any record could finish: the summaries, and for each record
    (by position) the values across records it reads (`known`, aligned with `Engine.set_slots`), their figures, or
    the error that stopped it before."""

    summaries: dict[str, object]
    known: list[tuple | None]
    figures: list[dict[int, Figures]]
    errors: dict[int, str]


@dataclass(frozen=True)
class Result:
    """The outcome values of one record, its trace if asked for, or the error that stopped it."""

    record_id: str
    values: dict[str, object]
    trace: Trace | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class RunReport:
    results: list[Result] = field(default_factory=list)
    summaries: dict[str, object] = field(default_factory=dict)

    @property
    def failed(self) -> list[Result]:
        return [r for r in self.results if not r.ok]


# ------------------------------------------------------------------------------------------------ engine

def params_in_force(policy: ir.Policy, as_of: date) -> dict[str, ir.ParamValue]:
    """The value of every param in force on `as_of`; SetupError names a param that has none yet."""
    chosen = {}
    for name, param in policy.params.items():
        pv = param.value_at(as_of)
        if pv is None:
            first = min(x.start for x in param.values if x.start)
            raise SetupError(f"param '{name}' has no value in force on {as_of} (its first value starts "
                             f"{first}); choose a later --as-of or add a value")
        chosen[name] = pv
    return chosen


class Engine:
    """A policy compiled for evaluation. Build once, evaluate many records."""

    def __init__(self, policy: ir.Policy):
        from ..graph import build, evaluation_order  # here, not at the top: networkx loads only when needed
        self.policy = policy
        self.order = evaluation_order(policy, build(policy))
        from ..graph import stages
        owned = [(x, n) for n in self.order for x in ir.walk(policy.nodes[n].body) if isinstance(x, ir.Across)]
        self.across = {x.index: x for x, _ in owned}
        self._owners = {x.index: n for x, n in owned}  # the node whose rule holds each (errors name it)
        names = (list(policy.params) + ["<as_of>", "<records>"] + list(policy.subject.field_names) + self.order
                 + list(policy.summaries) + [f"<across:{i}>" for i in sorted(self.across)])
        self.slots = {name: i for i, name in enumerate(names)}
        self.names = names
        self._log: list[str] = []
        self.fast = [(self.slots[n], n, self._compile_node(policy.nodes[n], traced=False)) for n in self.order]
        self.traced = [(self.slots[n], n, self._compile_node(policy.nodes[n], traced=True)) for n in self.order]
        self.summaries = {n: self._compile(s.expr, False) for n, s in policy.summaries.items()}
        self.field_slots = [(self.slots[n], n) for n in policy.subject.field_names]
        self.outcome_slots = [(n.name, self.slots[n.name]) for n in policy.outcomes]
        self._bases: dict[date, tuple[list, dict]] = {}
        self.cross = policy.across_records
        self.stages = stages(policy, self.order) if self.cross else []
        self.set_slots = [self.slots[n] for n in policy.summaries] + [self.slots[f"<across:{i}>"]
                                                                      for i in sorted(self.across)]
        self._parts = {i: (self._compile(a.amount, False) if a.amount is not None else None,
                           [self._compile(p, False) for p in a.parts()]) for i, a in self.across.items()}

    # -------------------------------------------------------------------------------------------- running
    def default_as_of(self) -> date:
        return self.policy.effective or date(2000, 1, 1)

    def _base(self, as_of: date) -> tuple[list, dict]:
        """The value list with params filled in for `as_of` (cached per date)."""
        if as_of not in self._bases:
            v = [None] * len(self.slots)
            chosen = params_in_force(self.policy, as_of)
            for name, pv in chosen.items():
                v[self.slots[name]] = pv.value
            v[self.slots["<as_of>"]] = as_of
            self._bases[as_of] = (v, chosen)
        return self._bases[as_of]

    def base_values(self, as_of: date) -> list:
        """A fresh value list (one slot per name in `slots`) with the params in force on `as_of` and the date
        filled in; readers that re-evaluate a record with one input changed start from it."""
        return self._base(as_of)[0].copy()

    def params_at(self, as_of: date) -> dict[str, ir.ParamValue]:
        """The value of each param in force on `as_of` (with its start date and notes)."""
        return self._base(as_of)[1]

    def values_of(self, values: dict[str, object], as_of: date) -> list | None:
        """Every slot's value of one record evaluated without a trace (a list as `base_values` gives), or None
        when the record fails — `evaluate` then says how. Not for a policy that compares records."""
        v = self._base(as_of)[0].copy()
        try:
            for slot, name in self.field_slots:
                v[slot] = values[name]
            for slot, _, fn in self.fast:
                v[slot] = fn(v, None)
        except (EvaluationError, KeyError, ArithmeticError, InvalidOperation, ValueError, OverflowError):
            return None
        return v

    def compile_expression(self, x: ir.IExpr) -> Fn:
        """`x` compiled for a value list as `base_values` gives (called as `fn(values, None)`)."""
        return self._compile(x, False)

    def evaluate(self, values: dict[str, object], as_of: date | None = None, trace: bool = False,
                 record_id: str = "", known: tuple | None = None, figures: dict | None = None) -> Result:
        """Evaluate one record (field values in runtime form). Errors become `Result.error`, never exceptions.

        A policy whose rules read other records needs `known`: this record's values across records, from
        `context` (and, for its trace, their `figures`)."""
        as_of = as_of or self.default_as_of()
        base, chosen = self._base(as_of)
        v = base.copy()
        try:
            for slot, name in self.field_slots:
                v[slot] = values[name]
        except KeyError as exc:
            return Result(record_id, {}, error=f"missing field {exc.args[0]}")
        if self.cross:
            if known is None:
                return Result(record_id, {}, error="this policy compares records with each other: evaluate it "
                                                   "on all the records together")
            for slot, value in zip(self.set_slots, known):
                v[slot] = value
        current = None
        try:
            if not trace:
                for slot, current, fn in self.fast:  # noqa: B007  (`current` names the node of an error)
                    v[slot] = fn(v, None)
                return Result(record_id, {n: v[s] for n, s in self.outcome_slots})
            steps = {}
            for slot, current, fn in self.traced:
                if self._log:
                    self._log = []
                v[slot], step = fn(v, None)
                steps[current] = step
            shared = {self.names[s]: v[s] for s in self.set_slots} if self.cross else {}
            return Result(record_id, {n: v[s] for n, s in self.outcome_slots},
                          Trace(steps, chosen, as_of, dict(figures or {}), shared))
        except EvaluationError as exc:
            return Result(record_id, {}, error=f"{exc.node or current}: {exc}")
        except ZeroDivisionError:
            return Result(record_id, {}, error=f"{current}: division by zero")
        except InvalidOperation:  # Decimal could not keep the value exactly (an amount beyond 28 digits)
            return Result(record_id, {}, error=f"{current}: {BEYOND_RANGE}")
        except (ValueError, OverflowError):  # e.g. an integer of thousands of digits: the record fails, not the run
            return Result(record_id, {}, error=f"{current}: a value beyond the range policydsl computes")

    def all_values(self, values: dict[str, object], as_of: date | None = None,
                   known: tuple | None = None) -> dict[str, object]:
        """Every field and node value of one record (for summaries and examples); raises EvaluationError."""
        base, _ = self._base(as_of or self.default_as_of())
        v = base.copy()
        for slot, name in self.field_slots:
            v[slot] = values[name]
        if known is not None:
            for slot, value in zip(self.set_slots, known):
                v[slot] = value
        for slot, current, fn in self.fast:
            try:
                v[slot] = fn(v, None)
            except ZeroDivisionError:
                raise EvaluationError("division by zero", current) from None
            except InvalidOperation:
                raise EvaluationError(BEYOND_RANGE, current) from None
        return {n: v[self.slots[n]] for n in list(self.policy.subject.field_names) + self.order}

    def run(self, records: Iterable[tuple[str, dict]], as_of: date | None = None, trace: bool = False,
            progress: Callable[[int], None] | None = None) -> RunReport:
        """Evaluate many (id, values) records, then the summaries over the ones that succeeded."""
        if self.cross:
            return self._run_across(list(records), as_of, trace, progress)
        report = RunReport()
        rows_for_summary = []
        for record_id, values in records:
            result = self.evaluate(values, as_of, trace, record_id)
            report.results.append(result)
            if result.ok and self.summaries:
                rows_for_summary.append(self.all_values(values, as_of))
            if progress:
                progress(1)
        if self.summaries:
            base, _ = self._base(as_of or self.default_as_of())
            v = base.copy()
            v[self.slots["<records>"]] = tuple(rows_for_summary)
            for name, fn in self.summaries.items():  # in dependency order: semantics checked them that way
                try:
                    value = _finish(fn(v, None), self.policy.summaries[name].type)
                except (EvaluationError, ZeroDivisionError, InvalidOperation) as exc:
                    value = f"error: {exc}"
                report.summaries[name] = v[self.slots[name]] = value
            in_file_order = sorted(report.summaries, key=lambda n: self.policy.summaries[n].span.line)
            report.summaries = {n: report.summaries[n] for n in in_file_order}
        return report

    def example_values(self, example: ir.Example) -> tuple[dict[str, dict | str], dict[str, object]]:
        """Every field and node value of each record of an example (or the error that stopped it), by record id,
        and the summaries over the example's records."""
        as_of = example.as_of or self.default_as_of()
        records = list(example.records) or [("#1", example.given)]
        context = self.context([values for _, values in records], as_of) if self.cross else None
        found: dict[str, dict | str] = {}
        for position, (record_id, values) in enumerate(records):
            if context is not None and position in context.errors:
                found[record_id] = context.errors[position]
                continue
            try:
                found[record_id] = self.all_values(values, as_of, context.known[position] if context else None)
            except EvaluationError as exc:
                found[record_id] = f"{exc.node}: {exc}" if exc.node else str(exc)
            except KeyError as exc:
                found[record_id] = f"missing field {exc.args[0]}"
        if context is not None:
            return found, context.summaries
        return found, self.run(records, as_of).summaries if self.policy.summaries else {}

    def example_results(self, example: ir.Example, trace: bool = True) -> list[Result]:
        """The result (with its trace) of each record of an example."""
        records = list(example.records) or [("#1", example.given)]
        return self.run(records, example.as_of, trace=trace).results

    def _run_across(self, records: list[tuple[str, dict]], as_of: date | None, trace: bool,
                    progress: Callable[[int], None] | None) -> RunReport:
        context = self.context([values for _, values in records], as_of)
        report = RunReport(summaries=context.summaries)
        for position, (record_id, values) in enumerate(records):
            if position in context.errors:
                report.results.append(Result(record_id, {}, error=context.errors[position]))
            else:
                report.results.append(self.evaluate(values, as_of, trace, record_id, context.known[position],
                                                    context.figures[position]))
            if progress:
                progress(1)
        return report

    # -------------------------------------------------------------------------------------------- across records
    def context(self, records: list[dict], as_of: date | None = None) -> Context:
        """Evaluate the records pass by pass (`graph.stages`): after each pass, the summaries and the values
        across records computed over the records still standing. Records given as dicts of field values."""
        base, _ = self._base(as_of or self.default_as_of())
        vs = []
        for values in records:
            v = base.copy()
            for slot, name in self.field_slots:
                v[slot] = values[name]
            vs.append(v)
        return self._context(vs, as_of or self.default_as_of())

    def _context(self, vs: list[list], as_of: date) -> Context:
        errors: dict[int, str] = {}
        figures: list[dict[int, Figures]] = [{} for _ in vs]
        summaries: dict[str, object] = {}
        stage_fns = {name: fn for _, name, fn in self.fast}
        for stage in self.stages:
            fns = [(self.slots[n], n, stage_fns[n]) for n in stage.nodes]
            for position, v in enumerate(vs):
                if position not in errors:
                    error = _run_nodes(v, fns)
                    if error is not None:
                        errors[position] = error
            standing = [p for p in range(len(vs)) if p not in errors]
            if stage.summaries:
                self._stage_summaries(stage.summaries, vs, standing, errors, summaries, as_of)
                standing = [p for p in standing if p not in errors]
            for a in stage.across:
                self._stage_across(a, vs, standing, errors, figures)
                standing = [p for p in standing if p not in errors]
        known = [None if p in errors else tuple(vs[p][s] for s in self.set_slots) for p in range(len(vs))]
        in_file_order = sorted(summaries, key=lambda n: self.policy.summaries[n].span.line)
        return Context({n: summaries[n] for n in in_file_order}, known, figures, errors)

    def _stage_summaries(self, names, vs, standing, errors, summaries, as_of) -> None:
        """The summaries of one pass, over the standing records; a rule that reads a failed summary fails."""
        readable = list(self.policy.subject.field_names) + self.order
        slots = [self.slots[n] for n in readable]
        kept = tuple({n: vs[p][s] for n, s in zip(readable, slots)} for p in standing)
        base, _ = self._base(as_of)
        v = base.copy()
        v[self.slots["<records>"]] = kept
        for name, value in summaries.items():
            v[self.slots[name]] = value
        for name in names:
            try:
                value = _finish(self.summaries[name](v, None), self.policy.summaries[name].type)
            except (EvaluationError, ZeroDivisionError, InvalidOperation) as exc:
                message = "division by zero" if isinstance(exc, (ZeroDivisionError, InvalidOperation)) else exc
                value = f"error: {message}"
                if any(name in node.reads for node in self.policy.nodes.values()):
                    for p in standing:
                        errors.setdefault(p, f"{name}: the summary could not be computed ({message})")
            summaries[name] = v[self.slots[name]] = value
            for record in vs:
                record[self.slots[name]] = value

    def _stage_across(self, a: ir.Across, vs, standing, errors, figures) -> None:
        amount_fn, part_fns = self._parts[a.index]
        slot = self.slots[f"<across:{a.index}>"]
        amount = amount_fn(vs[standing[0]], None) if amount_fn is not None and standing else None
        key = self.policy.subject.key
        key_slot = self.slots[key] if key else None
        has = [a.value is not None, a.where is not None, a.within is not None]
        entries = []
        for p in standing:
            v = vs[p]
            try:
                parts = [fn(v, None) for fn in part_fns]
            except EvaluationError as exc:
                errors[p] = f"{exc.node or self._owner(a)}: {exc}"
                continue
            except (ZeroDivisionError, InvalidOperation):
                errors[p] = f"{self._owner(a)}: division by zero"
                continue
            it = iter(parts)
            value = next(it) if has[0] else None
            selected = next(it) if has[1] else True
            group = next(it) if has[2] else None
            entries.append(Entry(p, value, bool(selected), group, tuple(it), v[key_slot] if key else p))
        outcome = compute(a, entries, amount)
        for p, message in outcome.errors.items():
            errors[p] = f"{self._owner(a)}: {message}"
        for p, value in outcome.values.items():
            vs[p][slot] = value
            figures[p][a.index] = outcome.figures[p]

    def _owner(self, a: ir.Across) -> str:
        """The node whose rule holds `a` (errors name it, as the row evaluator names a failing node)."""
        return self._owners[a.index]

    # -------------------------------------------------------------------------------------------- nodes
    def _compile_node(self, node: ir.Node, traced: bool) -> Fn:
        if isinstance(node.body, ir.TableBody):
            fn = self._compile_table(node, traced)
        elif isinstance(node.body, ir.EligibilityBody):
            fn = self._compile_eligibility(node, traced)
        else:
            expr = self._compile(node.body, traced)
            if node.type == MONEY:
                fn = lambda v, e, expr=expr: _quantize_fen(expr(v, e))
            else:
                fn = expr
            if node.type == INT and not isinstance(node.body, (ir.Ref, ir.Const)):
                fn = _within_int_range(fn, node.name)
            if traced:
                fn = self._traced_plain(node, fn)
        return fn

    def _inputs(self, names: tuple[str, ...]) -> Callable[[list], tuple]:
        """A function giving the (name, value) pairs a node read, fetched in one C-level call."""
        pairs = [(n, self.slots[n]) for n in names if n in self.slots]
        if not pairs:
            return lambda v: ()
        labels = tuple(n for n, _ in pairs)
        if len(pairs) == 1:
            (name, slot), = pairs
            return lambda v: ((name, v[slot]),)
        fetch = operator.itemgetter(*(s for _, s in pairs))
        return lambda v: tuple(zip(labels, fetch(v)))

    def _decisions(self, has_branches: bool) -> Callable[[], tuple]:
        """The if/match log of the node just evaluated; nodes without branches skip the bookkeeping."""
        if not has_branches:
            return lambda: ()
        return lambda: tuple(self._log)

    def _traced_plain(self, node: ir.Node, fn: Fn) -> Fn:
        inputs = self._inputs(node.reads)
        name, kind, type_ = node.name, node.kind, node.type
        decisions = self._decisions(_has_branches(node.body))

        def run(v, e):
            value = fn(v, e)
            return value, Step(name, kind, value, type_, inputs(v), None, decisions())
        return run

    def _compile_table(self, node: ir.Node, traced: bool) -> Fn:
        body: ir.TableBody = node.body
        rows = [(r.number, r.span.line, self._compile(r.condition, traced) if r.condition else None,
                 self._compile(r.value, traced)) for r in body.rows]
        name, money = node.name, node.type == MONEY
        finish = _quantize_fen if money else (lambda x: x)
        inputs = self._inputs(node.reads)
        unique = body.hit == "unique"
        by_number = {r.number: r for r in body.rows}

        def pick(v, e):
            if unique:
                hits = [(num, line, val) for num, line, cond, val in rows if cond is not None and cond(v, e)]
                if len(hits) > 1:
                    (n1, _, _), (n2, _, _) = hits[:2]
                    raise EvaluationError(ir.both_apply(by_number[n1], by_number[n2]), name)
                if hits:
                    return hits[0][0], hits[0][2]
                for num, _line, cond, val in rows:
                    if cond is None:
                        return num, val
            else:
                for num, _line, cond, val in rows:
                    if cond is None or cond(v, e):
                        return num, val
            raise EvaluationError("no row of the table applies and it has no 'otherwise' row", name)

        if not traced:
            return lambda v, e: finish(pick(v, e)[1](v, e))
        decisions = self._decisions(_has_branches(body))

        def run(v, e):
            number, val = pick(v, e)
            value = finish(val(v, e))
            return value, Step(name, "table", value, node.type, inputs(v), number, decisions())
        return run

    def _compile_eligibility(self, node: ir.Node, traced: bool) -> Fn:
        conds = [(c.name, self._compile(c.expr, traced), self._inputs(c.reads)) for c in node.body.conditions]
        if not traced:
            fns = [fn for _, fn, _ in conds]

            def every(v, e):
                # every condition runs, as in the traced form: all() of a generator would stop at the first
                # failed condition and skip a later one's error
                passed = [fn(v, e) for fn in fns]
                return all(passed)
            return every
        inputs = self._inputs(node.reads)
        decisions = self._decisions(_has_branches(node.body))

        def run(v, e):
            results = tuple(ConditionResult(name, bool(fn(v, e)), read(v)) for name, fn, read in conds)
            value = all(r.passed for r in results)
            return value, Step(node.name, "eligibility", value, node.type, inputs(v), conditions=results,
                               decisions=decisions())
        return run

    # -------------------------------------------------------------------------------------------- expressions
    def _compile(self, x: ir.IExpr, traced: bool) -> Fn:
        return getattr(self, "_c_" + type(x).__name__)(x, traced)

    def _c_Const(self, x: ir.Const, traced):
        value = x.value
        return lambda v, e: value

    def _c_Ref(self, x: ir.Ref, traced):
        if x.kind == "list":
            rows = self.policy.lists[x.name].rows
            return lambda v, e: rows
        slot = self.slots[x.name]
        return lambda v, e: v[slot]

    def _c_ElemRef(self, x: ir.ElemRef, traced):
        name = x.name
        return lambda v, e: e[name]

    def _c_AsOf(self, x, traced):
        slot = self.slots["<as_of>"]
        return lambda v, e: v[slot]

    def _c_Across(self, x: ir.Across, traced):
        slot = self.slots[f"<across:{x.index}>"]
        return lambda v, e: v[slot]

    def _c_RecordsRef(self, x, traced):
        slot = self.slots["<records>"]
        return lambda v, e: v[slot]

    def _c_UnaryOp(self, x: ir.UnaryOp, traced):
        f = self._compile(x.operand, traced)
        if x.op == "not":
            return lambda v, e: not f(v, e)
        if x.type == DURATION:
            return lambda v, e: Duration(-f(v, e).months, -f(v, e).days)
        return lambda v, e: -f(v, e)

    def _c_BinaryOp(self, x: ir.BinaryOp, traced):
        op = x.op
        ordered_specially = (isinstance(x.operand_type, EnumType) or x.operand_type == DURATION) and op in (
            "lt", "le", "gt", "ge")
        exact_division = op == "div" or x.type in (DATE, DURATION)
        if op in OPERATORS and not ordered_specially and not exact_division:
            fn = EXACT.get(op, OPERATORS[op]) if x.type in (DECIMAL, MONEY, PERCENT) else OPERATORS[op]
            fast = self._direct(fn, x, traced)
            if fast is not None:
                return fast
        a, b = self._compile(x.left, traced), self._compile(x.right, traced)
        if op == "and":
            return lambda v, e: a(v, e) and b(v, e)
        if op == "or":
            return lambda v, e: a(v, e) or b(v, e)
        if op in ("in", "notin"):
            return self._membership(x, a, op == "notin", traced)
        if op in ("eq", "ne", "lt", "le", "gt", "ge"):
            return _comparison(op, a, b, x.operand_type)
        return _arithmetic(op, a, b, x.left.type, x.right.type, x.type)

    def _leaf(self, x: ir.IExpr) -> tuple[str, object] | None:
        """A slot read or a constant, which a closure can inline instead of calling another closure."""
        if isinstance(x, ir.Const):
            return "const", x.value
        if isinstance(x, ir.Ref) and x.kind != "list":
            return "slot", self.slots[x.name]
        return None

    def _direct(self, fn, x: ir.BinaryOp, traced: bool) -> Fn | None:
        """`fn(left, right)` with slot reads and constants inlined: one Python call where three would be."""
        left, right = self._leaf(x.left), self._leaf(x.right)
        if left is None and right is None:
            return None
        if left and right:
            if left[0] == "slot" and right[0] == "slot":
                i, j = left[1], right[1]
                return lambda v, e: fn(v[i], v[j])
            if left[0] == "slot":
                i, c = left[1], right[1]
                return lambda v, e: fn(v[i], c)
            if right[0] == "slot":
                c, j = left[1], right[1]
                return lambda v, e: fn(c, v[j])
            return None
        if left:
            g = self._compile(x.right, traced)
            if left[0] == "slot":
                i = left[1]
                return lambda v, e: fn(v[i], g(v, e))
            c = left[1]
            return lambda v, e: fn(c, g(v, e))
        g = self._compile(x.left, traced)
        if right[0] == "slot":
            j = right[1]
            return lambda v, e: fn(g(v, e), v[j])
        c = right[1]
        return lambda v, e: fn(g(v, e), c)

    def _membership(self, x: ir.BinaryOp, a: Fn, negate: bool, traced) -> Fn:
        if isinstance(x.right, ir.ListItems):
            if all(isinstance(i, ir.Const) for i in x.right.items):
                pool = frozenset(i.value for i in x.right.items)
                return (lambda v, e: a(v, e) not in pool) if negate else (lambda v, e: a(v, e) in pool)
            items = [self._compile(i, traced) for i in x.right.items]
            test = lambda v, e: a(v, e) in [f(v, e) for f in items]
        else:
            keys = self.policy.lists[x.right.name].by_key
            test = lambda v, e: a(v, e) in keys
        return (lambda v, e: not test(v, e)) if negate else test

    def _c_If(self, x: ir.If, traced):
        c, t, o = (self._compile(p, traced) for p in (x.cond, x.then, x.otherwise))
        if not traced:
            return lambda v, e: t(v, e) if c(v, e) else o(v, e)
        line = x.span.line

        def run(v, e):
            if c(v, e):
                self._log.append(f"if (line {line}): condition holds → then")
                return t(v, e)
            self._log.append(f"if (line {line}): condition does not hold → else")
            return o(v, e)
        return run

    def _c_Match(self, x: ir.Match, traced):
        subject = self._compile(x.subject, traced)
        table = {}
        for labels, value in x.arms:
            fn = self._compile(value, traced)
            for label in labels:
                table.setdefault(label, fn)
        default = self._compile(x.default, traced) if x.default is not None else None
        if not traced:
            if default is None:
                return lambda v, e: table[subject(v, e)](v, e)
            return lambda v, e: table.get(subject(v, e), default)(v, e)

        def run(v, e):
            label = subject(v, e)
            if label in table:
                self._log.append(f"match: {label}")
                return table[label](v, e)
            self._log.append(f"match: {label} → else")
            return default(v, e)
        return run

    def _c_Builtin(self, x: ir.Builtin, traced):
        args = [self._compile(a, traced) for a in x.args]
        f = x.func
        if f in ("min", "max"):
            pick = min if f == "min" else max
            return lambda v, e: pick(g(v, e) for g in args)
        if f == "clamp":
            val, lo, hi = args
            return lambda v, e: min(max(val(v, e), lo(v, e)), hi(v, e))
        if f == "abs":
            return lambda v, e: abs(args[0](v, e))
        if f == "round":
            return _rounding(args[0], x.args[1].value, ROUNDING[x.mode], x.type)
        if f in ("floor", "ceil"):
            op = math.floor if f == "floor" else math.ceil
            return lambda v, e: op(args[0](v, e))
        if f == "text":
            t = x.args[0].type
            return lambda v, e: format_value(args[0](v, e), t)
        if f in ("present", "absent"):  # an optional field's value is None when the record has none
            arg, wanted = args[0], f == "present"
            return lambda v, e: (arg(v, e) is not None) is wanted
        if f in ("percent", "decimal"):  # the same number under another type (an int becomes a Decimal)
            arg = args[0]
            return lambda v, e: Decimal(arg(v, e))
        return _date_function(f, args)

    def _c_Aggregate(self, x: ir.Aggregate, traced):
        source = self._compile(x.source, traced)
        elem = self._compile(x.element, traced) if x.element is not None else None
        where = self._compile(x.where, traced) if x.where is not None else None
        selected = (lambda v, e: [item for item in source(v, e) if where(v, item)]) if where else source
        func, what = x.func, str(x.span)
        if func == "count":
            return lambda v, e: len(selected(v, e))
        if func == "any":
            return lambda v, e: any(elem(v, item) for item in selected(v, e))
        if func == "all":
            return lambda v, e: all(elem(v, item) for item in selected(v, e))
        if func == "distinct":
            return lambda v, e: len({elem(v, item) for item in selected(v, e)})
        if func == "sum":
            zero = Decimal(0) if x.type != INT else 0
            return lambda v, e: sum((elem(v, item) for item in selected(v, e)), zero)
        pick = min if func == "min" else max

        def extreme(v, e):
            values = [elem(v, item) for item in selected(v, e)]
            if not values:
                raise EvaluationError(f"{func} of no records ({what})")
            return pick(values)
        return extreme

    def _c_ListItems(self, x, traced):
        items = [self._compile(i, traced) for i in x.items]
        return lambda v, e: [f(v, e) for f in items]

    def _c_Lookup(self, x: ir.Lookup, traced):
        rows = self.policy.lists[x.list_name].by_key
        key, name = self._compile(x.key, traced), x.list_name

        def lookup(v, e):
            k = key(v, e)
            try:
                return rows[k]
            except KeyError:
                raise EvaluationError(f"'{k}' is not in list {name}") from None
        return lookup

    def _c_GetField(self, x: ir.GetField, traced):
        obj, name = self._compile(x.obj, traced), x.name
        return lambda v, e: obj(v, e)[name]


# ------------------------------------------------------------------------------------------------ batches

def run_batch(policy: ir.Policy, records, *, related: dict | None = None, as_of: date | None = None, out=None,
              on_row=None, progress: Callable[[int], None] | None = None):
    """`engines.base.run_batch` for engine="row": one record at a time, in bounded memory.

    Each record is read, converted (`records.RecordStream`: a converter compiled once per schema, today's careful
    path only when that fails), evaluated, written (`records.ResultWriter`) and dropped. What stays in memory: the
    errors, the keys seen (duplicate keys), the related files (grouped by key) and what the summaries need —
    running totals for aggregates over records that read only record values and params, and, for the other
    aggregates, a tuple per record of just the values they read. The garbage collector is off during the loop
    (nothing the loop builds is cyclic; it only would re-scan the compiled policy over and over).
    """
    from ..types import TEXT
    from .base import BatchResult, EvaluationFailure
    from .records import RecordStream, ResultWriter, _text_formatter

    engine = Engine(policy)
    when = as_of or engine.default_as_of()
    try:
        base, setup_error = engine._base(when)[0], None
    except SetupError as exc:  # raised once a record needs the params, as `Engine.run` would
        base, setup_error = None, exc
    subject = policy.subject
    stream = RecordStream(records, subject, policy.records, related or {})
    key = subject.key or "id"
    types = {key: TEXT, **{n.name: n.type for n in policy.outcomes}}  # == api.output_types(policy)
    columns = list(types)
    # A row is {key: id, **outcomes}: an outcome named like the key takes the key's column.
    sources = [engine.slots[c] if c in dict(engine.outcome_slots) else None for c in columns]
    batch = BatchResult(engine="row")
    summaries = _BatchSummaries(engine) if policy.summaries else None
    field_slots = [engine.slots[n] for n in subject.field_names]
    first = field_slots[0] if field_slots else 0
    contiguous = field_slots == list(range(first, first + len(field_slots)))
    fast = engine.fast
    if len(sources) > 2 and sources[0] is None and None not in sources[1:]:
        outcomes = operator.itemgetter(*sources[1:])

        def row_of(record_id, v):
            return (record_id, *outcomes(v))
    else:
        def row_of(record_id, v):
            return tuple(record_id if s is None else v[s] for s in sources)
    writer = ResultWriter(out, columns, types) if out is not None else None
    sink = on_row if out is None else None
    cells = [_text_formatter(types[c]) for c in columns]
    failures, ok, read, step = batch.evaluation_failures, 0, 0, 4096
    gc_enabled, frozen_by_us = gc.isenabled(), gc.get_freeze_count() == 0
    if frozen_by_us:  # (a caller that froze objects itself keeps its own freeze)
        gc.collect()
        gc.freeze()  # the compiled policy, the related files: never scanned again
    gc.disable()
    context, position, set_slots = None, -1, engine.set_slots
    try:
        if engine.cross:  # every record is needed before any can finish: read them all first
            stream_items = list(stream)
            if base is None and any(values is not None for _, values in stream_items):
                raise setup_error
            context = engine._context([_filled(base, field_slots, values) for _, values in stream_items
                                       if values is not None], when)
            summaries = None
            items = iter(stream_items)
        else:
            items = iter(stream)
        for record_id, values in items:
            read += 1
            if progress is not None and read % step == 0:
                progress(step)
            if values is None:
                continue
            if base is None:
                raise setup_error
            v = base.copy()
            if contiguous:
                v[first:first + len(values)] = values
            else:
                for slot, value in zip(field_slots, values):
                    v[slot] = value
            if context is not None:
                position += 1
                if position in context.errors:
                    failures.append(EvaluationFailure(record_id, context.errors[position]))
                    continue
                for slot, value in zip(set_slots, context.known[position]):
                    v[slot] = value
            current = None
            try:
                for slot, current, fn in fast:  # noqa: B007  (`current` names the node of an error)
                    v[slot] = fn(v, None)
            except EvaluationError as exc:
                failures.append(EvaluationFailure(record_id, f"{exc.node or current}: {exc}"))
                continue
            except ZeroDivisionError:
                failures.append(EvaluationFailure(record_id, f"{current}: division by zero"))
                continue
            except InvalidOperation:
                failures.append(EvaluationFailure(record_id, f"{current}: {BEYOND_RANGE}"))
                continue
            except (ValueError, OverflowError):  # an integer of thousands of digits: this record fails, not the run
                failures.append(EvaluationFailure(record_id, f"{current}: a value beyond the range policydsl computes"))
                continue
            ok += 1
            row = row_of(record_id, v)
            if writer is not None:
                writer.write(row)
            elif sink is not None:
                if ok == 1:
                    sink(tuple(columns))
                sink(tuple(f(x) for f, x in zip(cells, row)))
            if summaries is not None:
                summaries.add(v)
                if ok % 262144 == 0:
                    gc.collect(0)  # the kept tuples: tracked once, then left alone
        if progress is not None and read % step:
            progress(read % step)
        if summaries is not None:
            batch.summaries = summaries.finish(when)
        elif context is not None:
            batch.summaries = context.summaries
        if writer is not None:
            writer.close()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        if frozen_by_us:
            gc.unfreeze()
        if gc_enabled:
            gc.enable()
    batch.ok_count = ok
    batch.data_errors = stream.errors
    batch.failed_ids = stream.failed_ids
    return batch


def _filled(base: list, field_slots: list[int], values) -> list:
    v = base.copy()
    for slot, value in zip(field_slots, values):
        v[slot] = value
    return v


def _run_nodes(v: list, fns) -> str | None:
    """Evaluate compiled nodes into `v`; the error that stops the record, as `Engine.evaluate` words it."""
    current = None
    try:
        for slot, current, fn in fns:  # noqa: B007
            v[slot] = fn(v, None)
    except EvaluationError as exc:
        return f"{exc.node or current}: {exc}"
    except (ZeroDivisionError, InvalidOperation):
        return f"{current}: division by zero"
    return None


def _children(x: object) -> Iterable[ir.IExpr]:
    """The expressions directly inside an IR expression (through tuples such as match arms)."""
    stack = [getattr(x, f.name) for f in dataclass_fields(x)] if isinstance(x, ir.IExpr) else [x]
    while stack:
        item = stack.pop()
        if isinstance(item, ir.IExpr):
            yield item
        elif isinstance(item, tuple):
            stack.extend(item)


def _subtree(x: ir.IExpr) -> Iterable[ir.IExpr]:
    stack = [x]
    while stack:
        item = stack.pop()
        yield item
        stack.extend(_children(item))


class _RunningAggregate:
    """One aggregate over `records` computed as the records go by, with exactly `Engine`'s result and errors.

    As in `Engine._c_Aggregate`: every `where` runs first (its first error wins), then the element of each
    selected record in order (`any`/`all` stop at the first true/false one); min/max of no records is an error.
    """

    def __init__(self, engine: Engine, x: ir.Aggregate):
        self.func, self.what = x.func, str(x.span)
        self.where = engine._compile(x.where, False) if x.where is not None else None
        self.element = engine._compile(x.element, False) if x.element is not None else None
        self.count = 0
        self.where_error: BaseException | None = None
        self.element_error: BaseException | None = None
        self.done = x.func == "count"  # no element to evaluate (any more)
        self.value: object = {"sum": Decimal(0) if x.type != INT else 0, "any": False, "all": True}.get(x.func)
        self.seen: set | None = set() if x.func == "distinct" else None
        self.empty = True

    def add(self, v: list, item: dict) -> None:
        if self.where_error is not None:
            return
        if self.where is not None:
            try:
                if not self.where(v, item):
                    return
            except Exception as exc:  # noqa: BLE001 — kept and raised where Engine would raise it
                self.where_error = exc
                return
        self.count += 1
        if self.done:
            return
        func = self.func
        try:
            x = self.element(v, item)
            if func == "sum":
                self.value = self.value + x
            elif func == "distinct":
                self.seen.add(x)
            elif func == "any":
                if x:
                    self.value, self.done = True, True
            elif func == "all":
                if not x:
                    self.value, self.done = False, True
            elif self.empty or (x < self.value if func == "min" else x > self.value):
                self.value, self.empty = x, False
        except Exception as exc:  # noqa: BLE001
            self.element_error, self.done = exc, True

    def result(self, v: list, e: object) -> object:
        if self.where_error is not None:
            raise self.where_error
        if self.element_error is not None:
            raise self.element_error
        if self.func == "count":
            return self.count
        if self.func == "distinct":
            return len(self.seen)
        if self.func in ("min", "max") and self.empty:
            raise EvaluationError(f"{self.func} of no records ({self.what})")
        return self.value


class _KeptRecords:
    """`records` for the aggregates that cannot run as the records go by: a compact tuple per record of just the
    values they read, seen as dicts when iterated (as `Engine.run` gives them)."""

    def __init__(self, names: list[str]):
        self.names, self.rows = names, []

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        names = self.names
        return (dict(zip(names, row)) for row in self.rows)


class _BatchSummaries(Engine):
    """The summaries of a batch, fed one evaluated record at a time; `finish` gives `Engine.run`'s summaries.

    Shares the compiled engine's state (no second compilation of the nodes); only aggregates over `records`
    compile differently.
    """

    def __init__(self, engine: Engine):  # super().__init__ is deliberately not called
        self.__dict__.update(engine.__dict__)
        policy = engine.policy
        record_names = set(policy.subject.field_names) | set(engine.order)
        summary_names = set(policy.summaries)
        self._running: dict[int, _RunningAggregate] = {}
        running_names: set[str] = set()
        kept_names: set[str] = set()
        self._keep = False
        for summary in policy.summaries.values():
            for x in _subtree(summary.expr):
                if not (isinstance(x, ir.Aggregate) and isinstance(x.source, ir.RecordsRef)):
                    continue
                inner = [y for part in (x.element, x.where) if part is not None for y in _subtree(part)]
                reads = {y.name for y in inner if isinstance(y, ir.ElemRef)} & record_names
                if any(isinstance(y, ir.RecordsRef) or isinstance(y, ir.Ref) and y.name in summary_names
                       for y in inner):
                    kept_names |= reads  # reads other summaries or all records again: needs them all at the end
                    self._keep = True
                elif id(x) not in self._running:
                    self._running[id(x)] = _RunningAggregate(engine, x)
                    running_names |= reads
        self._running_list = list(self._running.values())
        self._item_names = sorted(running_names)
        self._item_slots = [engine.slots[n] for n in self._item_names]
        self._kept = _KeptRecords(sorted(kept_names))
        self._kept_slots = [engine.slots[n] for n in self._kept.names]
        self.compiled = {n: self._compile(s.expr, False) for n, s in policy.summaries.items()}

    def _c_Aggregate(self, x: ir.Aggregate, traced):
        running = self._running.get(id(x))
        return running.result if running is not None else super()._c_Aggregate(x, traced)

    def add(self, v: list) -> None:
        if self._running_list:
            item = {name: v[slot] for name, slot in zip(self._item_names, self._item_slots)}
            for running in self._running_list:
                running.add(v, item)
        if self._keep:
            self._kept.rows.append(tuple([v[slot] for slot in self._kept_slots]))

    def finish(self, as_of: date) -> dict[str, object]:
        base, _ = self._base(as_of)
        v = base.copy()
        v[self.slots["<records>"]] = self._kept
        summaries = {}
        for name, fn in self.compiled.items():  # in dependency order, as in Engine.run
            try:
                value = _finish(fn(v, None), self.policy.summaries[name].type)
            except (EvaluationError, ZeroDivisionError, InvalidOperation) as exc:
                value = f"error: {exc}"
            summaries[name] = v[self.slots[name]] = value
        in_file_order = sorted(summaries, key=lambda n: self.policy.summaries[n].span.line)
        return {n: summaries[n] for n in in_file_order}


# ------------------------------------------------------------------------------------------------ operators

def _comparison(op: str, a: Fn, b: Fn, t: Type) -> Fn:
    if isinstance(t, EnumType) and op not in ("eq", "ne"):
        rank = {label: i for i, label in enumerate(t.labels)}
        a0, b0 = a, b
        a, b = (lambda v, e: rank[a0(v, e)]), (lambda v, e: rank[b0(v, e)])
    if t == DURATION and op not in ("eq", "ne"):
        a0, b0 = a, b
        a, b = (lambda v, e: _duration_key(a0(v, e))), (lambda v, e: _duration_key(b0(v, e)))
    return {
        "eq": lambda v, e: a(v, e) == b(v, e),
        "ne": lambda v, e: a(v, e) != b(v, e),
        "lt": lambda v, e: a(v, e) < b(v, e),
        "le": lambda v, e: a(v, e) <= b(v, e),
        "gt": lambda v, e: a(v, e) > b(v, e),
        "ge": lambda v, e: a(v, e) >= b(v, e),
    }[op]


def _duration_key(d: Duration) -> tuple[int, int]:
    if d.months and d.days:
        raise EvaluationError(f"cannot order the duration {d}: it mixes months and days")
    return (d.months, d.days)


def _arithmetic(op: str, a: Fn, b: Fn, lt: Type, rt: Type, result: Type) -> Fn:
    if result == DATE:
        sign = 1 if op == "add" else -1
        return lambda v, e: add_duration(a(v, e), b(v, e), sign)
    if result == DURATION and lt == rt == DURATION:
        sign = 1 if op == "add" else -1
        return lambda v, e: _dur(a(v, e), b(v, e), sign)
    if result == DURATION:  # duration × int
        return lambda v, e: _dur_scale(a(v, e), b(v, e))
    if op in EXACT and result in (DECIMAL, MONEY, PERCENT):
        exact = EXACT[op]
        return lambda v, e: exact(a(v, e), b(v, e))
    if op == "add":
        return lambda v, e: a(v, e) + b(v, e)
    if op == "sub":
        return lambda v, e: a(v, e) - b(v, e)
    if op == "mul":
        return lambda v, e: multiply(a(v, e), b(v, e))
    return lambda v, e: divide(a(v, e), b(v, e))


def _dur(x: Duration, y: Duration, sign: int) -> Duration:
    return Duration(x.months + sign * y.months, x.days + sign * y.days)


def _dur_scale(x, y) -> Duration:
    d, n = (x, y) if isinstance(x, Duration) else (y, x)
    return Duration(d.months * n, d.days * n)


def add_duration(d: date, dur: Duration, sign: int = 1) -> date:
    """`d` moved by whole months (clamped to the month's last day), then by days."""
    from datetime import timedelta
    months = d.year * 12 + d.month - 1 + sign * dur.months
    year, month = divmod(months, 12)
    month += 1
    try:
        day = min(d.day, _days_in_month(year, month))
        return date(year, month, day) + timedelta(days=sign * dur.days)
    except (ValueError, OverflowError):
        raise EvaluationError(f"{d} {'+' if sign > 0 else '-'} {dur} is beyond the calendar (years 1 to 9999)",
                              None) from None


def _days_in_month(year: int, month: int) -> int:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return (nxt - date(year, month, 1)).days


def whole_months(a: date, b: date) -> int:
    """Completed months from a to b (negative if b is before a)."""
    months = (b.year - a.year) * 12 + b.month - a.month
    if months > 0 and b.day < a.day:
        months -= 1
    elif months < 0 and b.day > a.day:
        months += 1
    return months


def _date_function(f: str, args: list[Fn]) -> Fn:
    if f == "years_between":
        return lambda v, e: int(whole_months(args[0](v, e), args[1](v, e)) / 12)
    if f == "months_between":
        return lambda v, e: whole_months(args[0](v, e), args[1](v, e))
    if f == "days_between":
        return lambda v, e: (args[1](v, e) - args[0](v, e)).days
    if f == "year":
        return lambda v, e: args[0](v, e).year
    if f == "month":
        return lambda v, e: args[0](v, e).month
    if f == "quarter":
        return lambda v, e: (args[0](v, e).month - 1) // 3 + 1
    if f == "same_year":
        return lambda v, e: args[0](v, e).year == args[1](v, e).year
    if f == "same_month":
        return lambda v, e: (args[0](v, e).year, args[0](v, e).month) == (args[1](v, e).year, args[1](v, e).month)
    if f == "same_quarter":
        def q(d):
            return d.year, (d.month - 1) // 3
        return lambda v, e: q(args[0](v, e)) == q(args[1](v, e))
    raise AssertionError(f"unknown builtin {f}")


def _rounding(arg: Fn, places: int, mode: str, result: Type) -> Fn:
    exp = Decimal(1).scaleb(-places)
    if result == INT:
        return lambda v, e: int(Decimal(arg(v, e)).quantize(exp, rounding=mode))
    return lambda v, e: Decimal(arg(v, e)).quantize(exp, rounding=mode)


_quantize_fen = operator.methodcaller("quantize", FEN, ROUND_HALF_UP)  # == round_money, one C call


def _has_branches(body) -> bool:
    """Whether an IR subtree contains an if or a match (whose choices the trace logs)."""
    if isinstance(body, (ir.If, ir.Match)):
        return True
    if isinstance(body, ir.TableBody):
        return any(_has_branches(r.value) or (r.condition is not None and _has_branches(r.condition))
                   for r in body.rows)
    if isinstance(body, ir.EligibilityBody):
        return any(_has_branches(c.expr) for c in body.conditions)
    children = [getattr(body, f) for f in ("operand", "left", "right", "cond", "then", "otherwise", "subject",
                                           "default", "source", "element", "where", "key", "obj") if hasattr(body, f)]
    children += list(getattr(body, "args", ())) + list(getattr(body, "items", ()))
    children += [value for _, value in getattr(body, "arms", ())]
    return any(_has_branches(c) for c in children if isinstance(c, ir.IExpr))


def _finish(value: object, t: Type) -> object:
    return round_money(value) if t == MONEY and isinstance(value, Decimal) else value


def _within_int_range(fn: Fn, name: str) -> Fn:
    """`fn`, failing the record when its int value is beyond INT_MIN..INT_MAX (what every SQL engine holds)."""
    def run(v, e):
        value = fn(v, e)
        if not INT_MIN <= value <= INT_MAX:
            raise EvaluationError(int_beyond_range(value), name)
        return value
    return run
