"""Static analysis of a checked policy: findings that are not errors but that a drafter wants to see.

`analyse(policy)` returns warnings (each a `Diagnostic` with a span) for

- decision tables: two rows of a `unique` table that can both apply (with an example input), inputs no row covers
  in a table without `otherwise` (with an example input), rows of a `first` table that can never fire because
  earlier rows already take every input they would;
- params and facts that no outcome reads, directly or through other facts (nor a summary or an explanation);
- comparisons that are always true or always false for the values their operands can take.

**How tables are analysed.** A row's condition is read as a formula over *atoms*: a comparison of one expression
(the *key*: a field, a fact, `count(…)`, …) of a numeric, date, bool or enum type with a constant or a
single-valued param, `key in [constants]`, a bool key alone, combined with `and`, `or`, `not`. Every other
comparison is *unknown*. For each key, the constants it is compared with cut its line of values into finitely many
cells (below the first constant, each constant, between two constants, above the last); an atom is true or false on
a whole cell, so a row's condition becomes a union of *boxes* (one set of cells per key) and overlaps, gaps and
shadowing are set operations.

Soundness — no false alarms:

- a row is over-approximated (unknown atoms read as *true*) where that is safe and under-approximated (unknown atoms
  read as *false*) where that is: shadowing is "over(row) ⊆ ∪ under(earlier rows)", a gap is a point outside
  ∪ over(rows), an overlap a point inside under(a) ∩ under(b);
- a key's values are over-approximated by a small range inference (`count` ≥ 0, `clamp(x, 0, 5)` in 0…5, a table
  giving only some enum labels gives only those), so a "never fires" verdict holds for every record;
- a gap or an overlap is reported only when its example input can really occur: every key it names is *free* (an
  input field, `count` over a relation, `clamp` of a field between constants …: every value of its range is
  possible) and no two of them depend on the same input field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import product

import networkx as nx

from . import ir, sweep
from .diagnostics import Diagnostic, SourceCache, Span
from .graph import build
from .types import BOOL, DATE, DECIMAL, INT, MONEY, PERCENT, EnumType, ListOf, Type, format_value

NUMERIC_KEYS = (INT, DECIMAL, MONEY, PERCENT, DATE)
INTEGRAL = (INT, DATE)
COMPARISONS = {"eq", "ne", "lt", "le", "gt", "ge"}
FLIP = {"eq": "eq", "ne": "ne", "lt": "gt", "le": "ge", "gt": "lt", "ge": "le"}
NEGATE = {"eq": "ne", "ne": "eq", "lt": "ge", "le": "gt", "gt": "le", "ge": "lt", "in": "notin", "notin": "in"}
SYMBOL = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
MAX_BOXES = 512
#: Tables with more rows are not analysed (a note says so): the exact analysis compares every pair of rows.
MAX_ANALYSED_ROWS = 300
_NO = object()  # "not a constant"
_NEVER = "<never>"  # the key of a box whose condition is constant false


def analyse(policy: ir.Policy, sources: SourceCache | None = None) -> list[Diagnostic]:
    """Every warning of a checked policy (tables, unused declarations, constant comparisons)."""
    a = _Analyser(policy, sources or SourceCache())
    out: list[Diagnostic] = []
    for node in policy.nodes.values():
        if isinstance(node.body, ir.TableBody):
            out.extend(a.table(node))
    out.extend(a.unused())
    out.extend(a.constant_comparisons())
    return out


# ------------------------------------------------------------------------------------------------ ranges

@dataclass(frozen=True)
class Range:
    """An over-approximation of the values an expression can take.

    Numbers and dates: `lo`…`hi` (closed, None = unbounded; dates as ordinals). Enums and bools: `labels`.
    `free` says that *every* value in the range can occur, independently of other free keys that read other
    inputs; `deps` are the input fields the value depends on.
    """

    lo: object = None
    hi: object = None
    labels: frozenset | None = None
    free: bool = False
    deps: frozenset = frozenset()


# ------------------------------------------------------------------------------------------------ formulas
# ('true',) ('false',) ('unknown',) ('atom', key, op, constant) ('and', [..]) ('or', [..])

TRUE, FALSE, UNKNOWN = ("true",), ("false",), ("unknown",)


class _Analyser:
    def __init__(self, policy: ir.Policy, sources: SourceCache):
        self.policy = policy
        self.sources = sources
        self.graph = build(policy)
        self._ranges: dict[str, Range] = {}
        self._in_progress: set[str] = set()

    # -------------------------------------------------------------------------------------------- constants
    def const(self, e: ir.IExpr) -> object:
        """The value of a constant expression (literal, single-valued param, arithmetic of those), or _NO."""
        if isinstance(e, ir.Const):
            return e.value
        if isinstance(e, ir.Ref) and e.kind == "param":
            param = self.policy.params.get(e.name)
            if param is not None and len(param.values) == 1:
                return param.values[0].value
            return _NO
        if isinstance(e, ir.UnaryOp) and e.op == "neg" and e.type in NUMERIC_KEYS[:4]:
            v = self.const(e.operand)
            return _NO if v is _NO else -v
        if isinstance(e, ir.BinaryOp) and e.op in ("add", "sub", "mul") and e.type in NUMERIC_KEYS[:4]:
            a, b = self.const(e.left), self.const(e.right)
            if a is _NO or b is _NO or not _is_number(a) or not _is_number(b):
                return _NO
            return {"add": a + b, "sub": a - b, "mul": a * b}[e.op]
        return _NO

    # -------------------------------------------------------------------------------------------- ranges
    def range(self, e: ir.IExpr) -> Range:
        t = e.type
        if isinstance(e, ir.Ref):
            if e.kind == "field":
                return self._full(t, free=True, deps=frozenset({e.name}))
            if e.kind == "param":
                param = self.policy.params[e.name]
                return self._of_values([pv.value for pv in param.values], t)
            if e.kind == "node":
                return self._node_range(e.name)
            return self._full(t)
        if isinstance(e, ir.AsOf):
            return self._full(t, free=True, deps=frozenset({"<as_of>"}))
        v = self.const(e)
        if v is not _NO:
            return self._of_values([v], t)
        deps = self._deps(e)
        if isinstance(e, ir.Aggregate):
            if e.func in ("count", "distinct"):
                src = e.source
                free = (e.func == "count" and isinstance(src, ir.Ref) and src.kind == "field"
                        and isinstance(src.type, ListOf))
                return Range(0, None, free=free, deps=deps)
            if e.func == "sum" and e.element is not None and _numeric(t):
                r = self.range(e.element)
                if r.lo is not None and r.lo >= 0:
                    return Range(0, None, deps=deps)
            if e.func in ("min", "max") and e.element is not None:
                r = self.range(e.element)
                return Range(r.lo, r.hi, r.labels, deps=deps)
            return self._full(t, deps=deps)
        if isinstance(e, ir.Builtin) and _numeric(t):
            args = [self.range(a) for a in e.args]
            if e.func in ("min", "max") and args:
                return Range(*_min_max(e.func, args), deps=deps)
            if e.func == "clamp":
                x, lo_r, hi_r = args
                lo = None if lo_r.lo is None or hi_r.lo is None else min(lo_r.lo, hi_r.lo)
                free = (x.free and x.lo is None and x.hi is None and lo_r.lo is not None and lo_r.lo == lo_r.hi
                        and hi_r.hi is not None and hi_r.lo == hi_r.hi and lo_r.lo <= hi_r.hi)
                return Range(lo, hi_r.hi, free=free, deps=deps)
            if e.func == "abs":
                return Range(0, None, deps=deps)
            if e.func == "month":
                return Range(1, 12, deps=deps)
            if e.func == "quarter":
                return Range(1, 4, deps=deps)
            return self._full(t, deps=deps)
        if isinstance(e, ir.BinaryOp) and e.op in ("add", "sub", "mul") and _numeric(t) and _numeric(e.left.type) \
                and _numeric(e.right.type):
            return Range(*_arith(e.op, self.range(e.left), self.range(e.right)), deps=deps)
        if isinstance(e, ir.UnaryOp) and e.op == "neg" and _numeric(t):
            r = self.range(e.operand)
            return Range(None if r.hi is None else -r.hi, None if r.lo is None else -r.lo, deps=deps)
        if isinstance(e, ir.If):
            return _hull([self.range(e.then), self.range(e.otherwise)], t, deps)
        if isinstance(e, ir.Match):
            parts = [self.range(v) for _, v in e.arms] + ([self.range(e.default)] if e.default is not None else [])
            return _hull(parts, t, deps)
        return self._full(t, deps=deps)

    def _node_range(self, name: str) -> Range:
        if name in self._ranges:
            return self._ranges[name]
        node = self.policy.nodes[name]
        deps = self._node_deps(name)
        if name in self._in_progress:
            return self._full(node.type, deps=deps)
        self._in_progress.add(name)
        try:
            if isinstance(node.body, ir.TableBody):
                r = _hull([self.range(row.value) for row in node.body.rows], node.type, deps)
            elif isinstance(node.body, ir.EligibilityBody):
                r = self._full(node.type, deps=deps)
            else:
                inner = self.range(node.body)
                r = Range(inner.lo, inner.hi, inner.labels, inner.free, deps)
                if node.type == MONEY:  # rounding to the fen keeps a range of whole fen bounds, not its freedom
                    r = Range(inner.lo, inner.hi, inner.labels, False, deps)
        finally:
            self._in_progress.discard(name)
        self._ranges[name] = r
        return r

    def _node_deps(self, name: str) -> frozenset:
        fields = set(self.policy.subject.field_names)
        found = {n for n in nx.ancestors(self.graph, name) if n in fields} if name in self.graph else set()
        if self._reads_as_of(name):
            found.add("<as_of>")
        return frozenset(found)

    def _reads_as_of(self, name: str) -> bool:
        names = [name] + [n for n in nx.ancestors(self.graph, name) if n in self.policy.nodes]
        return any(any(isinstance(x, ir.AsOf) for x in _walk_body(self.policy.nodes[n].body)) for n in names)

    def _deps(self, e: ir.IExpr) -> frozenset:
        out: set[str] = set()
        for x in _walk(e):
            if isinstance(x, ir.Ref) and x.kind == "field":
                out.add(x.name)
            elif isinstance(x, ir.Ref) and x.kind == "node":
                out |= self._node_deps(x.name)
            elif isinstance(x, ir.AsOf):
                out.add("<as_of>")
        return frozenset(out)

    def _full(self, t: Type, free: bool = False, deps: frozenset = frozenset()) -> Range:
        if isinstance(t, EnumType):
            return Range(labels=frozenset(t.labels), free=free, deps=deps)
        if t == BOOL:
            return Range(labels=frozenset({True, False}), free=free, deps=deps)
        return Range(free=free, deps=deps)

    def _of_values(self, values: list, t: Type) -> Range:
        if isinstance(t, EnumType) or t == BOOL:
            return Range(labels=frozenset(values))
        keys = [_ordinal(v) for v in values]
        if keys and all(_is_number(k) for k in keys):
            return Range(min(keys), max(keys))
        return self._full(t)

    # -------------------------------------------------------------------------------------------- formulas
    def formula(self, e: ir.IExpr, negated: bool = False) -> tuple:
        if isinstance(e, ir.UnaryOp) and e.op == "not":
            return self.formula(e.operand, not negated)
        if isinstance(e, ir.BinaryOp) and e.op in ("and", "or"):
            op = e.op if not negated else ("or" if e.op == "and" else "and")
            return (op, [self.formula(e.left, negated), self.formula(e.right, negated)])
        v = self.const(e)
        if v is not _NO and isinstance(v, bool):
            return TRUE if v != negated else FALSE
        atom = self.atom(e)
        if atom is None:
            return UNKNOWN
        key, op, c = atom
        return ("atom", key, NEGATE[op] if negated else op, c)

    def atom(self, e: ir.IExpr) -> tuple | None:
        """(key, op, constant) for a comparison of one expression with a constant, or None."""
        if e.type == BOOL and _keyable(e) and not isinstance(e, ir.BinaryOp):
            return (e, "eq", True)
        if not isinstance(e, ir.BinaryOp):
            return None
        if e.op in COMPARISONS:
            lc, rc = self.const(e.left), self.const(e.right)
            if rc is not _NO and lc is _NO and _keyable(e.left):
                key, op, c = e.left, e.op, rc
            elif lc is not _NO and rc is _NO and _keyable(e.right):
                key, op, c = e.right, FLIP[e.op], lc
            else:
                return None
            if isinstance(key.type, EnumType) and op not in ("eq", "ne") and not key.type.ordered:
                return None
            return (key, op, c)
        if e.op in ("in", "notin") and isinstance(e.right, ir.ListItems) and _keyable(e.left):
            values = [self.const(i) for i in e.right.items]
            if any(v is _NO for v in values):
                return None
            return (e.left, e.op, frozenset(values))
        return None

    # -------------------------------------------------------------------------------------------- cells
    def domains(self, atoms: Iterable[tuple]) -> dict:
        """key → (tuple of cells, Range). A cell is a representative value: every atom is constant on it."""
        consts: dict[object, set] = {}
        for key, _op, c in atoms:
            bucket = consts.setdefault(key, set())
            if isinstance(c, frozenset):
                bucket |= c
            else:
                bucket.add(c)
        out = {}
        for key, values in consts.items():
            r = self.range(key)
            out[key] = (self._cells(key.type, values, r), r)
        return out

    def _cells(self, t: Type, values: set, r: Range) -> tuple:
        if isinstance(t, EnumType):
            labels = r.labels if r.labels is not None else frozenset(t.labels)
            return tuple(label for label in t.labels if label in labels)
        if t == BOOL:
            labels = r.labels if r.labels is not None else frozenset({True, False})
            return tuple(v for v in (True, False) if v in labels)
        points = sorted({_ordinal(v) for v in values if _is_number(_ordinal(v))}
                        | {b for b in (r.lo, r.hi) if b is not None})
        integral = t in INTEGRAL
        cells = []
        if points:
            cells.append(_below(points[0], integral))
        for i, p in enumerate(points):
            cells.append(p)
            if i + 1 < len(points):
                cells.append(_between(p, points[i + 1], integral))
        if points:
            cells.append(_above(points[-1], integral))
        else:
            cells.append(0)
        seen, out = set(), []
        for c in cells:
            if c is None or c in seen:
                continue
            if integral and c != int(c):
                continue
            if (r.lo is not None and c < r.lo) or (r.hi is not None and c > r.hi):
                continue
            seen.add(c)
            out.append(c)
        return tuple(out)

    def holds(self, key: ir.IExpr, op: str, c: object, cell: object) -> bool:
        t = key.type
        if op in ("in", "notin"):
            inside = cell in c if (isinstance(t, EnumType) or t == BOOL) else cell in {_ordinal(x) for x in c}
            return inside if op == "in" else not inside
        if isinstance(t, EnumType):
            if op in ("eq", "ne"):
                return (cell == c) == (op == "eq")
            a, b = t.rank(cell), t.rank(c)
        elif t == BOOL:
            if op not in ("eq", "ne"):
                return False
            return (cell == c) == (op == "eq")
        else:
            a, b = cell, _ordinal(c)
        return {"eq": a == b, "ne": a != b, "lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}[op]

    def boxes(self, f: tuple, doms: dict, over: bool) -> list[dict]:
        """The formula as a union of boxes (key → frozenset of cells; a missing key allows every cell)."""
        kind = f[0]
        if kind == "true":
            return [{}]
        if kind == "false":
            return []
        if kind == "unknown":
            return [{}] if over else []
        if kind == "atom":
            _, key, op, c = f
            cells = frozenset(cell for cell in doms[key][0] if self.holds(key, op, c, cell))
            return [{key: cells}] if cells else []
        parts = [self.boxes(g, doms, over) for g in f[1]]
        if kind == "or":
            out = [b for p in parts for b in p]
        else:
            out = [{}]
            for p in parts:
                out = [m for a, b in product(out, p) if (m := _meet(a, b, doms)) is not None]
                if len(out) > MAX_BOXES:
                    break
        if len(out) > MAX_BOXES:
            return [{}] if over else out[:MAX_BOXES]
        return out

    # -------------------------------------------------------------------------------------------- tables
    def table(self, node: ir.Node) -> list[Diagnostic]:
        body: ir.TableBody = node.body
        if len(body.rows) > MAX_ANALYSED_ROWS:  # the exact analysis grows with the square of the rows
            swept = self.swept_table(node)
            if swept is not None:
                return swept
            return [Diagnostic(node.span, f"table '{node.name}' has {len(body.rows):,} rows: overlaps, shadowed rows "
                               f"and gaps are analysed only for tables of up to {MAX_ANALYSED_ROWS} rows",
                               "write each row as comparisons of its keys with constants joined by 'and' (then it "
                               "is checked by sorting intervals), split it into smaller tables, or load the figures "
                               "as a list",
                               "note")]
        formulas = [self.formula(r.condition) if r.condition is not None else TRUE for r in body.rows]
        atoms = [a[1:] for f in formulas for a in _atoms(f)]
        if not atoms:
            return []
        doms = self.domains(atoms)
        over = [self.boxes(f, doms, True) for f in formulas]
        under = [self.boxes(f, doms, False) for f in formulas]
        out = []
        rows = body.rows
        # rows that can never apply (any hit policy: a condition that never holds; first hit: shadowed)
        for i, row in enumerate(rows):
            if row.condition is None:
                continue
            if not over[i]:
                out.append(Diagnostic(row.span, f"table '{node.name}': row {row.number} can never apply: its "
                                      "condition is never true", "remove the row or correct its condition",
                                      "warning"))
                continue
            if body.hit != "first" or i == 0:
                continue
            earlier = [b for j in range(i) for b in under[j]]
            if _subtract_all(over[i], earlier, doms) != []:
                continue
            takers = [rows[j] for j in range(i) if under[j] and any(_meet(a, b, doms) is not None
                                                                   for a in over[i] for b in under[j])]
            related = tuple((r.span, f"row {r.number} takes these inputs first") for r in takers)
            out.append(Diagnostic(row.span, f"table '{node.name}': row {row.number} can never fire: earlier rows "
                                  "already apply to every input it would", "with a first-hit table, put more "
                                  "specific rows before more general ones", "warning", related))
        # unique: overlapping rows
        if body.hit == "unique":
            for i, j in ((a, b) for a in range(len(rows)) for b in range(a + 1, len(rows))):
                if rows[i].condition is None or rows[j].condition is None:
                    continue
                witness = self._witness([m for a in under[i] for b in under[j]
                                         if (m := _meet(a, b, doms)) is not None], doms)
                if witness is not None and rows[i].label is not None:  # exceptions of a fact
                    out.append(Diagnostic(rows[j].span, f"exceptions “{rows[i].label}” and “{rows[j].label}” of "
                                          f"'{node.name}' both apply when {witness}: a record they both fit fails",
                                          "make the conditions exclusive (add 'and not …' to one of them)",
                                          "warning", ((rows[i].span, f"exception “{rows[i].label}”"),)))
                elif witness is not None:
                    out.append(Diagnostic(rows[j].span, f"table '{node.name}' (unique): rows {rows[i].number} and "
                                          f"{rows[j].number} both apply when {witness}",
                                          "make the conditions exclusive, or use a first-hit table",
                                          "warning", ((rows[i].span, f"row {rows[i].number}"),)))
        # gaps
        if not any(r.condition is None for r in rows):
            left = _subtract_all([{}], [b for bs in over for b in bs], doms)
            witness = self._witness(left, doms) if left is not None else None
            if witness is not None:
                out.append(Diagnostic(node.span, f"table '{node.name}': no row applies when {witness}",
                                      "add a row for these inputs or an 'otherwise' row (evaluation fails for "
                                      "a record no row covers)", "warning"))
        return out

    # -------------------------------------------------------------------------------------------- large tables
    def swept_table(self, node: ir.Node) -> list[Diagnostic] | None:
        """The analysis of a table too large for the exact one, by sorting intervals (`sweep`); None when a row is
        not a conjunction of comparisons with constants."""
        rows = node.body.rows
        boxes: list[dict | None] = []
        for row in rows:
            box = {} if row.condition is None else self._interval_box(self.formula(row.condition))
            if box is None:
                return None
            boxes.append(box)
        domain = {k: self._interval_domain(k) for b in boxes for k in b}
        boxes = [_meet_domain(b, domain) for b in boxes]
        keys = [k for k in domain if k != _NEVER]
        ranges = [self.range(k) for k in keys]
        deps = [d for r in ranges for d in r.deps]
        reportable = all(r.free for r in ranges) and len(deps) == len(set(deps))
        out = self._never_applying(node, boxes)
        live = [None if row.condition is None or sweep.is_empty(b) else b for row, b in zip(rows, boxes)]
        numeric = [k for k in keys if not isinstance(domain[k], frozenset)]
        if node.body.hit == "unique" and reportable:
            along = max(numeric, key=lambda k: sum(k in b for b in boxes if b), default=None)
            pairs, _stopped = sweep.overlapping_pairs(live, along)
            out += [self._overlap(node, rows[i], rows[j], where, domain) for i, j, where in pairs]
        if len(keys) == 1 and numeric:
            out += self._swept_single_key(node, keys[0], live, domain[keys[0]], reportable)
        elif len(keys) > 1:
            out.append(Diagnostic(node.span, f"table '{node.name}' has {len(rows):,} rows over {len(keys)} keys: rows "
                                  "that never apply and overlapping rows are checked; gaps and shadowed rows only for "
                                  f"tables of one key or of up to {MAX_ANALYSED_ROWS} rows", None, "note"))
        return out

    def _interval_box(self, f: tuple) -> dict | None:
        """A conjunction of comparisons as one box (key → `sweep.Interval` or a set of labels), else None."""
        if f == TRUE:
            return {}
        if f[0] == "and":
            box: dict = {}
            for g in f[1]:
                part = self._interval_box(g)
                if part is None:
                    return None
                for key, value in part.items():
                    box[key] = _meet_part(box[key], value) if key in box else value
            return box
        if f == FALSE:
            return {_NEVER: frozenset()}
        if f[0] != "atom":
            return None
        _, key, op, c = f
        if isinstance(key.type, EnumType) or key.type == BOOL:
            return {key: sweep.labels_of(key.type, op, c, sweep.domain_labels(key.type))}
        if op in ("in", "notin"):
            return None
        part = sweep.interval_of(op, _ordinal(c), key.type in INTEGRAL)
        return None if part is None else {key: part}

    def _interval_domain(self, key) -> object:
        if key == _NEVER:
            return frozenset({True})
        r = self.range(key)
        if r.labels is not None:
            return r.labels
        return sweep.Interval(r.lo, r.hi)

    def _never_applying(self, node: ir.Node, boxes: list[dict]) -> list[Diagnostic]:
        out = []
        for row, box in zip(node.body.rows, boxes):
            if row.condition is not None and sweep.is_empty(box) and len(out) < sweep.MAX_FINDINGS:
                out.append(Diagnostic(row.span, f"table '{node.name}': row {row.number} can never apply: its "
                                      "condition is never true", "remove the row or correct its condition", "warning"))
        return out

    def _overlap(self, node: ir.Node, a: ir.Row, b: ir.Row, where: dict, domain: dict) -> Diagnostic:
        witness = self._box_witness(where, domain)
        return Diagnostic(b.span, f"table '{node.name}' (unique): rows {a.number} and {b.number} both apply when "
                          f"{witness}", "make the conditions exclusive, or use a first-hit table", "warning",
                          ((a.span, f"row {a.number}"),))

    def _box_witness(self, box: dict, domain: dict) -> str:
        parts = []
        for key, part in box.items():
            if key == _NEVER or part == domain[key]:
                continue
            if isinstance(part, frozenset):
                order = list(key.type.labels) if isinstance(key.type, EnumType) else [True, False]
                value = next(v for v in order if v in part)
            else:
                value = part.point(key.type in INTEGRAL)
            parts.append(f"{self.text(key)} = {_show(value, key.type)}")
        return ", ".join(parts) or "any input"

    def _swept_single_key(self, node: ir.Node, key, live: list, whole, reportable: bool) -> list[Diagnostic]:
        """Shadowed rows (first hit) and a gap (no `otherwise`), exactly, for a table over one numeric key."""
        out: list[Diagnostic] = []
        cover = sweep.Cover(key.type in INTEGRAL)
        for row, box in zip(node.body.rows, live):
            if box is None:
                continue
            part = box.get(key, whole)
            if node.body.hit == "first" and cover.covers(part) and len(out) < sweep.MAX_FINDINGS:
                out.append(Diagnostic(row.span, f"table '{node.name}': row {row.number} can never fire: earlier rows "
                                      "already apply to every input it would", "with a first-hit table, put more "
                                      "specific rows before more general ones", "warning"))
            cover.add(part)
        if reportable and not any(r.condition is None for r in node.body.rows):
            gap = cover.first_gap(whole)
            if gap is not None:
                out.append(Diagnostic(node.span, f"table '{node.name}': no row applies when {self.text(key)} = "
                                      f"{_show(gap, key.type)}", "add a row for these inputs or an 'otherwise' row "
                                      "(evaluation fails for a record no row covers)", "warning"))
        return out

    def _witness(self, boxes: list[dict], doms: dict) -> str | None:
        """An example input in one of the boxes, if its values can occur together; else None."""
        for box in boxes:
            keys = [k for k in doms if k in box and len(box[k]) < len(doms[k][0])]
            if not keys:
                return "any input"
            ranges = [doms[k][1] for k in keys]
            if not all(r.free for r in ranges):
                continue
            seen: set = set()
            ok = True
            for r in ranges:
                if seen & r.deps:
                    ok = False
                seen |= r.deps
            if not ok:
                continue
            parts = []
            for k in keys:
                cells = [c for c in doms[k][0] if c in box[k]]
                parts.append(f"{self.text(k)} = {_show(_nice(cells), k.type)}")
            if parts:
                return ", ".join(parts)
        return None

    # -------------------------------------------------------------------------------------------- unused
    def unused(self) -> list[Diagnostic]:
        p = self.policy
        if not p.outcomes:
            return []  # a library of shared definitions: its readers are other files
        used: set[str] = set()
        roots = {n.name for n in p.outcomes}
        for s in p.summaries.values():
            roots |= {x.name for x in _walk(s.expr) if isinstance(x, (ir.Ref, ir.ElemRef))}
        for n in p.outcomes:
            for ex in n.notes.explains:
                for a, b in re.findall(r"{{(.*?)}}|{%(.*?)%}", ex.template, re.S):
                    roots |= set(re.findall(r"[^\W\d]\w*", a + b))
        for r in roots:
            if r in self.graph:
                used.add(r)
                used |= nx.ancestors(self.graph, r)
        out = []
        for name, param in p.params.items():
            if name not in used and param.origin == p.path:
                out.append(Diagnostic(param.span, f"param '{name}' is never used",
                                      "no outcome reads it, directly or through facts; remove it or use it",
                                      "warning"))
        for name, node in p.nodes.items():
            if name not in used and not node.is_outcome and node.origin == p.path:
                out.append(Diagnostic(node.span, f"{_word(node)} '{name}' is never used",
                                      "no outcome reads it, directly or through other facts; make it an outcome, "
                                      "use it, or remove it", "warning"))
        return out

    # -------------------------------------------------------------------------------------------- comparisons
    def constant_comparisons(self) -> list[Diagnostic]:
        out = []
        seen = set()
        for node in self.policy.nodes.values():
            for x in _walk_body(node.body):
                if not isinstance(x, ir.BinaryOp) or x.op not in COMPARISONS | {"in", "notin"}:
                    continue
                if id(x) in seen:
                    continue
                seen.add(id(x))
                verdict, why = self._always(x)
                if verdict is not None:
                    out.append(Diagnostic(x.span, f"this comparison is always {'true' if verdict else 'false'}",
                                          why, "warning"))
        return out

    def _always(self, x: ir.BinaryOp) -> tuple[bool | None, str]:
        if x.op in COMPARISONS and x.left == x.right and self.const(x.left) is _NO and _pure(x.left):
            return x.op in ("eq", "le", "ge"), "both sides are the same expression"
        atom = self.atom(x)
        if atom is None:
            return None, ""
        key, op, c = atom
        doms = self.domains([atom])
        cells, r = doms[key]
        if not cells:
            return None, ""
        results = {self.holds(key, op, c, cell) for cell in cells}
        if len(results) != 1:
            return None, ""
        return results.pop(), f"{self.text(key)} is always {_describe(r, key.type)}"

    # -------------------------------------------------------------------------------------------- text
    def text(self, e: ir.IExpr) -> str:
        if isinstance(e, (ir.Ref, ir.ElemRef)):
            return e.name
        if isinstance(e, ir.AsOf):
            return "as_of"
        span: Span = getattr(e, "span", None)
        if span is not None and span.line > 0 and span.line == span.end_line:
            line = self.sources.line(span.file, span.line)
            if line is not None:
                return line[span.col - 1:span.end_col - 1]
        return "the expression"


# ------------------------------------------------------------------------------------------------ helpers

def _numeric(t: Type) -> bool:
    return t in (INT, DECIMAL, MONEY, PERCENT)


def _is_number(v: object) -> bool:
    return isinstance(v, (int, Decimal)) and not isinstance(v, bool)


def _ordinal(v: object) -> object:
    return v.toordinal() if isinstance(v, date) else v


def _keyable(e: ir.IExpr) -> bool:
    t = e.type
    if not (t in NUMERIC_KEYS or t == BOOL or isinstance(t, EnumType)):
        return False
    if not _pure(e):
        return False
    try:
        hash(e)
    except TypeError:
        return False
    return True


def _pure(e: ir.IExpr) -> bool:
    """Expressions that mean one value per record: no element field outside the aggregate that binds it."""
    stack = [e]
    while stack:
        x = stack.pop()
        if isinstance(x, (ir.ElemRef, ir.RecordsRef)):
            return False
        if isinstance(x, ir.Aggregate):
            stack.append(x.source)
        else:
            stack.extend(_children(x))
    return True


def _arith(op: str, a: Range, b: Range) -> tuple:
    def add(x, y):
        return None if x is None or y is None else x + y
    if op == "add":
        return add(a.lo, b.lo), add(a.hi, b.hi)
    if op == "sub":
        return (None if a.lo is None or b.hi is None else a.lo - b.hi,
                None if a.hi is None or b.lo is None else a.hi - b.lo)
    bounds = (a.lo, a.hi, b.lo, b.hi)
    if all(v is not None for v in bounds):
        products = [x * y for x in (a.lo, a.hi) for y in (b.lo, b.hi)]
        return min(products), max(products)
    if a.lo is not None and b.lo is not None and a.lo >= 0 and b.lo >= 0:
        return a.lo * b.lo, None
    return None, None


def _min_max(func: str, args: list[Range]) -> tuple:
    """Bounds of min(a, b, …) / max(a, b, …) from the bounds of the arguments."""
    los, his = [a.lo for a in args], [a.hi for a in args]
    known_lo, known_hi = [v for v in los if v is not None], [v for v in his if v is not None]
    if func == "min":
        return (min(los) if None not in los else None), (min(known_hi) if known_hi else None)
    return (max(known_lo) if known_lo else None), (max(his) if None not in his else None)


def _hull(parts: list[Range], t: Type, deps: frozenset) -> Range:
    if isinstance(t, EnumType) or t == BOOL:
        labels = frozenset()
        for p in parts:
            if p.labels is None:
                return Range(deps=deps, labels=None)
            labels |= p.labels
        return Range(labels=labels, deps=deps)
    if not parts or any(p.lo is None for p in parts):
        lo = None
    else:
        lo = min(p.lo for p in parts)
    hi = None if not parts or any(p.hi is None for p in parts) else max(p.hi for p in parts)
    return Range(lo, hi, deps=deps)


def _below(p, integral: bool):
    return (math.ceil(p) - 1) if integral else p - 1


def _above(p, integral: bool):
    return (math.floor(p) + 1) if integral else p + 1


def _between(a, b, integral: bool):
    if integral:
        n = math.floor(a) + 1
        return n if n < b else None
    mid = (Decimal(a) + Decimal(b)) / 2
    return mid


def _nice(cells: list) -> object:
    """The example value shown: the first cell that is a whole number if there is one."""
    for c in cells:
        if _is_number(c) and c == int(c):
            return c
    return cells[0]


def _show(value: object, t: Type) -> str:
    if t == DATE and isinstance(value, int):
        return date.fromordinal(value).isoformat()
    if t == MONEY and _is_number(value):
        return f"{Decimal(value):.2f} 元"
    if t == PERCENT and _is_number(value):
        return format_value(Decimal(value), t)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return str(value)


def _describe(r: Range, t: Type) -> str:
    if r.labels is not None:
        order = list(t.labels) if isinstance(t, EnumType) else [True, False]
        labels = [v for v in order if v in r.labels]
        return _show(labels[0], t) if len(labels) == 1 else "one of " + ", ".join(_show(v, t) for v in labels)
    if r.lo is not None and r.hi is not None:
        return f"{_show(r.lo, t)}" if r.lo == r.hi else f"between {_show(r.lo, t)} and {_show(r.hi, t)}"
    if r.lo is not None:
        return f"at least {_show(r.lo, t)}"
    return f"at most {_show(r.hi, t)}"


def _meet_part(a: object, b: object) -> object:
    """Where two parts of a box (intervals, or sets of labels) both hold."""
    return a.meet(b) if isinstance(a, sweep.Interval) else a & b


def _meet_domain(box: dict, domain: dict) -> dict:
    """A box bounded by its keys' ranges: every key present, so an empty part means the row never applies."""
    return {key: _meet_part(box[key], d) if key in box else d for key, d in domain.items()}


def _meet(a: dict, b: dict, doms: dict) -> dict | None:
    out = dict(a)
    for k, cells in b.items():
        both = out[k] & cells if k in out else cells
        if not both:
            return None
        out[k] = both
    return out


def _subtract(a: dict, b: dict, doms: dict) -> list[dict]:
    """Box a minus box b, as disjoint boxes."""
    if _meet(a, b, doms) is None:
        return [a]
    out, rest = [], dict(a)
    for k, cells in b.items():
        mine = rest.get(k, frozenset(doms[k][0]))
        outside = mine - cells
        if outside:
            out.append({**rest, k: outside})
        rest[k] = mine & cells
    return out


def _subtract_all(boxes: list[dict], minus: list[dict], doms: dict) -> list[dict] | None:
    for b in minus:
        boxes = [piece for a in boxes for piece in _subtract(a, b, doms)]
        if not boxes:
            break
        if len(boxes) > MAX_BOXES * 8:
            return None  # too fine to finish: the caller cannot conclude anything
    return boxes


def _atoms(f: tuple) -> list[tuple]:
    if f[0] == "atom":
        return [f]
    if f[0] in ("and", "or"):
        return [a for g in f[1] for a in _atoms(g)]
    return []


def _children(x: object) -> list:
    out = []
    for name in ("operand", "left", "right", "cond", "then", "otherwise", "subject", "default", "source",
                 "element", "where", "key", "obj"):
        c = getattr(x, name, None)
        if isinstance(c, ir.IExpr):
            out.append(c)
    out += [a for a in getattr(x, "args", ()) if isinstance(a, ir.IExpr)]
    out += [a for a in getattr(x, "items", ()) if isinstance(a, ir.IExpr)]
    out += [v for _, v in getattr(x, "arms", ())]
    return out


def _walk(e: ir.IExpr):
    stack = [e]
    while stack:
        x = stack.pop()
        yield x
        stack.extend(reversed(_children(x)))


def _walk_body(body) -> Iterable[ir.IExpr]:
    if isinstance(body, ir.TableBody):
        for r in body.rows:
            if r.condition is not None:
                yield from _walk(r.condition)
            yield from _walk(r.value)
    elif isinstance(body, ir.EligibilityBody):
        for c in body.conditions:
            yield from _walk(c.expr)
    else:
        yield from _walk(body)


def _word(node: ir.Node) -> str:
    return {"table": "table", "eligibility": "eligibility"}.get(node.kind, "fact")
