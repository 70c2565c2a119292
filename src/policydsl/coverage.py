"""Rule coverage of `example` blocks, and the trace lines `policydsl test` shows for a failed expectation.

Every example's record is evaluated with a trace (`Engine.evaluate(..., trace=True)`); the trace says, per node,
the table row that decided it (`Step.row`), the if/match branches taken (`Step.decisions`) and each eligibility
condition with pass/fail (`Step.conditions`). Coverage lists what no example reached:

- table rows;
- `if` branches (then / else) and `match` arms (each arm, and `else`);
- eligibility conditions, both passing and failing (a condition only ever seen passing was never tested to refuse);
- outcomes whose value no example `expect`s, and facts/outcomes no example evaluated at all.

Only rules defined in the checked file itself are listed (an imported or extended file has its own examples).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import ir
from .diagnostics import Span
from .engines.row import Engine, Step, Trace
from .types import Type, format_value

_IF = re.compile(r"if \(line (\d+)\): condition (holds|does not hold)")
_MATCH = re.compile(r"match: (.*?)( → else)?$")


@dataclass(frozen=True)
class Item:
    """One thing an example can exercise."""

    kind: str  # 'row' | 'branch' | 'condition' | 'expect' | 'node'
    span: Span
    text: str


@dataclass
class Coverage:
    policy: ir.Policy
    items: list[Item] = field(default_factory=list)
    hit: set[Item] = field(default_factory=set)
    failed_examples: int = 0

    @property
    def missed(self) -> list[Item]:
        missed = [i for i in self.items if i not in self.hit]
        return sorted(missed, key=lambda i: (i.span.file, i.span.line, i.span.col))

    def counts(self) -> dict[str, tuple[int, int]]:
        """kind → (exercised, total)."""
        out: dict[str, tuple[int, int]] = {}
        for i in self.items:
            done, total = out.get(i.kind, (0, 0))
            out[i.kind] = (done + (i in self.hit), total + 1)
        return out

    def render(self) -> list[str]:
        words = {"row": "table rows", "branch": "branches", "condition": "condition outcomes",
                 "expect": "outcomes checked", "node": "facts/outcomes evaluated"}
        counts = self.counts()
        summary = ", ".join(f"{counts[k][0]}/{counts[k][1]} {words[k]}" for k in words if k in counts)
        lines = [f"coverage of {self.policy.path}: {summary or 'nothing to cover'}"
                 + (f" ({self.failed_examples} example(s) could not be evaluated)" if self.failed_examples else "")]
        lines += [f"{i.span}: not exercised: {i.text}" for i in self.missed]
        return lines


def coverage(policy: ir.Policy, engine: Engine | None = None) -> Coverage:
    """What the examples of `policy` exercise, and what none of them does."""
    engine = engine or Engine(policy)
    cov = Coverage(policy)
    own = [n for n in policy.nodes.values() if n.origin == policy.path]
    index = {n.name: _NodeItems(n) for n in own}
    for n in own:
        cov.items.append(Item("node", n.span, f"{'outcome' if n.is_outcome else n.kind} '{n.name}' (no example "
                                              "evaluated it)"))
    for n in own:
        cov.items.extend(index[n.name].all())
    for n in own:
        if n.is_outcome:
            cov.items.append(Item("expect", n.span, f"outcome '{n.name}': no example expects its value"))
    expected = {e.name for ex in policy.examples for e in ex.expects}
    for n in own:
        if n.is_outcome and n.name in expected:
            cov.hit.add(Item("expect", n.span, f"outcome '{n.name}': no example expects its value"))
    for ex in policy.examples:
        results = engine.example_results(ex)
        if not all(r.ok and r.trace is not None for r in results):
            cov.failed_examples += 1
            continue
        for result in results:
            for name, step in result.trace.steps.items():
                if name in index:
                    node = policy.nodes[name]
                    cov.hit.add(Item("node", node.span, f"{'outcome' if node.is_outcome else node.kind} '{name}' "
                                                        "(no example evaluated it)"))
                    cov.hit.update(index[name].reached(step))
    return cov


class _NodeItems:
    """The rows, branches and conditions of one node, and how a trace step maps onto them."""

    def __init__(self, node: ir.Node):
        self.node = node
        self.rows: dict[int, Item] = {}
        self.ifs: dict[int, list[tuple[Item, Item]]] = {}
        self.matches: list[tuple[dict[str, Item], Item | None]] = []
        self.conditions: dict[str, tuple[Item, Item]] = {}
        body = node.body
        name = node.name
        exprs: list[ir.IExpr] = []
        if isinstance(body, ir.TableBody):
            for r in body.rows:
                what = "otherwise" if r.condition is None else "row"
                self.rows[r.number] = Item("row", r.span, f"table '{name}' row {r.number}"
                                           + (" (otherwise)" if what == "otherwise" else ""))
                exprs += [r.condition, r.value] if r.condition is not None else [r.value]
        elif isinstance(body, ir.EligibilityBody):
            for c in body.conditions:
                self.conditions[c.name] = (Item("condition", c.span, f"condition '{c.name}' of '{name}' passing"),
                                           Item("condition", c.span, f"condition '{c.name}' of '{name}' failing"))
                exprs.append(c.expr)
        else:
            exprs.append(body)
        for e in exprs:
            for x in _walk(e):
                if isinstance(x, ir.If):
                    span = x.span
                    self.ifs.setdefault(span.line, []).append(
                        (Item("branch", x.then.span if x.then.span.line else span, f"'then' of the if in '{name}'"),
                         Item("branch", x.otherwise.span if x.otherwise.span.line else span,
                              f"'else' of the if in '{name}'")))
                elif isinstance(x, ir.Match):
                    arms = {}
                    for labels, value in x.arms:
                        item = Item("branch", value.span if value.span.line else x.span,
                                    f"match arm {' | '.join(labels)} in '{name}'")
                        for label in labels:
                            arms.setdefault(label, item)
                    default = None
                    if x.default is not None:
                        default = Item("branch", x.default.span if x.default.span.line else x.span,
                                       f"match arm else in '{name}'")
                    self.matches.append((arms, default))

    def all(self) -> list[Item]:
        out = list(self.rows.values())
        for pairs in self.ifs.values():
            for then, other in pairs:
                out += [then, other]
        for arms, default in self.matches:
            out += list(dict.fromkeys(arms.values()))
            if default is not None:
                out.append(default)
        for passing, failing in self.conditions.values():
            out += [passing, failing]
        return out

    def reached(self, step: Step) -> set[Item]:
        out = set()
        if step.row is not None and step.row in self.rows:
            out.add(self.rows[step.row])
        for c in step.conditions:
            if c.name in self.conditions:
                out.add(self.conditions[c.name][0 if c.passed else 1])
        for d in step.decisions:
            m = _IF.match(d)
            if m:
                # ifs on one line cannot be told apart in the trace: count each (never claims a miss wrongly)
                for then, other in self.ifs.get(int(m.group(1)), []):
                    out.add(then if m.group(2) == "holds" else other)
                continue
            m = _MATCH.match(d)
            if m:
                label, to_else = m.group(1), bool(m.group(2))
                for arms, default in self.matches:
                    if to_else and default is not None and label not in arms:
                        out.add(default)
                    elif not to_else and label in arms:
                        out.add(arms[label])
        return out


def _walk(e: ir.IExpr):
    from .analysis import _walk as walk  # one walker for every IR pass
    return walk(e)


# ------------------------------------------------------------------------------------------------ failure traces

def type_of(policy: ir.Policy, name: str) -> Type | None:
    if name in policy.nodes:
        return policy.nodes[name].type
    if name in policy.params:
        return policy.params[name].type
    return policy.subject.field(name)


def step_lines(policy: ir.Policy, trace: Trace, name: str, indent: str = "    ") -> list[str]:
    """How `name` got its value in one traced evaluation: what it read, the row/branches/conditions deciding it."""
    step = trace.steps.get(name)
    if step is None:
        return []
    node = policy.nodes[name]

    def show(n, v):
        return f"{n} = {format_value(v, type_of(policy, n))}"

    lines = [f"{indent}{name} = {format_value(step.value, step.type)} ({node.span})"]
    if step.inputs:
        lines.append(f"{indent}  read: " + ", ".join(show(n, v) for n, v in step.inputs))
    if step.row is not None and isinstance(node.body, ir.TableBody):
        row = next(r for r in node.body.rows if r.number == step.row)
        what = "otherwise" if row.condition is None else "when …"
        lines.append(f"{indent}  decided by row {row.number} ({what}) at {row.span}")
    for d in step.decisions:
        lines.append(f"{indent}  branch: {d}")
    for c in step.conditions:
        read = ", ".join(show(n, v) for n, v in c.inputs)
        lines.append(f"{indent}  condition {c.name}: {'passed' if c.passed else 'FAILED'}"
                     + (f" ({read})" if read else ""))
    return lines


def failure_trace(policy: ir.Policy, engine: Engine, example: ir.Example, names: list[str]) -> list[str]:
    """The trace lines of the differing outcomes of a failed example, and of the facts they read directly."""
    results = {r.record_id: r for r in engine.example_results(example)}
    lines = []
    for label in names:
        record_id, _, name = label.rpartition(": ")  # "A: 名次" in an example with several records
        result = results.get(record_id) if record_id else next(iter(results.values()), None)
        if result is None or not result.ok or result.trace is None or name not in policy.nodes:
            continue  # (a summary has no trace of its own)
        lines.append(f"  trace of {label}:")
        lines += step_lines(policy, result.trace, name)
        for read, _ in result.trace.steps[name].inputs if name in result.trace.steps else ():
            if read in policy.nodes:
                lines += step_lines(policy, result.trace, read, indent="      ")
    return lines
