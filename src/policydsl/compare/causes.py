"""Why outcomes differ: declarations that differ in definition, and values on the dependency path."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields, is_dataclass
from pathlib import Path

from .. import ir
from ..engines.row import Trace
from ..graph import build
from ..types import Type, format_value
from .model import Cause, DeclDiff, OutcomeDiff, PathStep, PolicyRun, RecordDiff


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
                    import networkx as nx  # here: `policydsl run` imports this module without needing it
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


