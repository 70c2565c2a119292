"""Stage 3 — graph: the dependency graph of a checked policy, cycle reports, evaluation order, exports.

Vertices are input fields, params, nodes (facts, outcomes, tables, eligibility) and summaries; an edge u → v means v
reads u (a summary reads the fields and nodes of every record; a rule may read a summary).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import ir
from .diagnostics import Diagnostic

if TYPE_CHECKING:  # networkx is imported where a graph is built: a cached run (`policydsl.cache`) needs none
    import networkx as nx

KIND_OF = {"field": "input", "param": "param"}


def build(policy: ir.Policy) -> nx.DiGraph:
    """The DiGraph of a policy; each vertex has `kind` (input/param/fact/outcome/table/eligibility) and `type`."""
    import networkx as nx
    g = nx.DiGraph()
    for name, ftype in policy.subject.fields:
        g.add_node(name, kind="input", type=str(ftype))
    for name, param in policy.params.items():
        g.add_node(name, kind="param", type=str(param.type))
    for name, node in policy.nodes.items():
        kind = "outcome" if node.is_outcome else node.kind
        g.add_node(name, kind=kind, type=str(node.type))
    for name, summary in policy.summaries.items():
        g.add_node(name, kind="summary", type=str(summary.type))
    for name, node in policy.nodes.items():
        for read in node.reads:
            if read in g:
                g.add_edge(read, name)
    for name, summary in policy.summaries.items():
        for read in summary.reads:
            if read in g:
                g.add_edge(read, name)
    return g


def cycle_diagnostics(policy: ir.Policy, g: nx.DiGraph) -> list[Diagnostic]:
    """One error per cycle among nodes, naming the whole path and pointing at each member."""
    import networkx as nx
    out = []
    for component in nx.strongly_connected_components(g):
        members = sorted(component)
        if len(members) == 1 and not g.has_edge(members[0], members[0]):
            continue
        if all(m in policy.summaries for m in members):
            continue  # summaries alone: semantics reports "summary … depends on itself"
        found = [u for u, _ in nx.find_cycle(g.subgraph(members), source=members[0])]
        # edges run from what is read to its reader; say it the drafter's way: a reads b reads c reads a
        cycle = [found[0]] + found[:0:-1]
        path = " → ".join(cycle + [cycle[0]])
        defined = {**policy.summaries, **policy.nodes}
        first = defined[cycle[0]]
        related = tuple((defined[n].span, f"'{n}' is defined here") for n in cycle[1:])
        out.append(Diagnostic(first.span, f"circular definition: {path}",
                              "a value cannot depend on itself; break the circle by computing one of them from inputs",
                              related=related))
    return out


#: Evaluation orders known without building the graph (`remember_order`): the policy and its order, by id.
_KNOWN_ORDERS: dict[int, tuple[ir.Policy, list[str]]] = {}
_KNOWN_LIMIT = 8  # a long-running process (the service) loads many policies: keep only the last few


def evaluation_order(policy: ir.Policy, g: nx.DiGraph | None = None) -> list[str]:
    """Node names in a topological order (ties broken by name so the order is reproducible)."""
    known = _KNOWN_ORDERS.get(id(policy)) if g is None else None
    if known is not None and known[0] is policy:
        return list(known[1])
    import networkx as nx
    g = g if g is not None else build(policy)
    order = nx.lexicographical_topological_sort(g)
    return [n for n in order if n in policy.nodes]


def remember_order(policy: ir.Policy, order: list[str]) -> None:
    """Let `evaluation_order(policy)` return `order` (computed by it earlier, e.g. kept in the compile cache) without
    building the graph again."""
    _KNOWN_ORDERS[id(policy)] = (policy, list(order))
    while len(_KNOWN_ORDERS) > _KNOWN_LIMIT:
        del _KNOWN_ORDERS[next(iter(_KNOWN_ORDERS))]


@dataclass(frozen=True)
class Stage:
    """One pass over the records: the nodes evaluated for each record, then what is computed across the records
    that are still standing (no rule failed for them): the summaries, then the values across records."""

    nodes: tuple[str, ...]
    summaries: tuple[str, ...]
    across: tuple[ir.Across, ...]


def stages(policy: ir.Policy, order: list[str] | None = None) -> list[Stage]:
    """The passes a run makes: one for a policy whose rules read only their own record; one more after each
    summary or value across records that a rule reads, so that it is computed over every record first.

    A node's pass is the latest of its own reads' passes and, for each summary or value across records it uses,
    one after the pass that computes it; a summary or value across records is computed after the last pass of what
    it reads.
    """
    order = order if order is not None else evaluation_order(policy)
    node_pass: dict[str, int] = {}
    ready: dict[object, int] = {}  # summary name or Across index → the pass after which it is computed

    def summary_ready(name: str) -> int:
        if name not in ready:
            s = policy.summaries[name]
            ready[name] = max([node_pass.get(r, 0) for r in s.reads if r in policy.nodes]
                              + [summary_ready(r) for r in s.reads if r in policy.summaries], default=0)
        return ready[name]

    def across_ready(a: ir.Across) -> int:
        reads = [x for part in (*a.parts(), a.amount) if part is not None for x in ir.walk(part)]
        return max([node_pass.get(x.name, 0) for x in reads if isinstance(x, ir.Ref) and x.kind == "node"]
                   + [summary_ready(x.name) for x in reads if isinstance(x, ir.Ref) and x.kind == "summary"],
                   default=0)

    across: dict[int, ir.Across] = {}
    for name in order:
        level = 0
        for x in ir.walk(policy.nodes[name].body):
            if isinstance(x, ir.Ref) and x.kind == "node":
                level = max(level, node_pass.get(x.name, 0))
            elif isinstance(x, ir.Ref) and x.kind == "summary":
                level = max(level, summary_ready(x.name) + 1)
            elif isinstance(x, ir.Across):
                ready[x.index] = across_ready(x)
                across[x.index] = x
                level = max(level, ready[x.index] + 1)
        node_pass[name] = level
    for name in policy.summaries:
        summary_ready(name)
    last = max([*node_pass.values(), *ready.values()], default=0)
    return [Stage(tuple(n for n in order if node_pass[n] == p),
                  tuple(n for n in policy.summaries if ready[n] == p),
                  tuple(a for i, a in sorted(across.items()) if ready[i] == p))
            for p in range(last + 1)]


def to_dot(g: nx.DiGraph, title: str) -> str:
    shapes = {"input": "box", "param": "note", "outcome": "doubleoctagon", "table": "tab", "eligibility": "diamond"}
    lines = [f'digraph "{_q(title)}" {{', "  rankdir=LR;"]
    for n, data in sorted(g.nodes(data=True)):
        lines.append(f'  "{_q(n)}" [shape={shapes.get(data["kind"], "ellipse")}, '
                     f'label="{_q(n)}\\n{data["kind"]}: {_q(data["type"])}"];')
    for u, v in sorted(g.edges()):
        lines.append(f'  "{_q(u)}" -> "{_q(v)}";')
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_mermaid(g: nx.DiGraph) -> str:
    ids = {n: f"n{i}" for i, n in enumerate(sorted(g.nodes))}
    brackets = {"input": ("[/", "/]"), "param": ("[(", ")]"), "outcome": ("[[", "]]"), "eligibility": ("{", "}")}
    lines = ["flowchart LR"]
    for n, data in sorted(g.nodes(data=True)):
        left, right = brackets.get(data["kind"], ("(", ")"))
        lines.append(f'  {ids[n]}{left}"{_q(n)}: {data["type"]}"{right}')
    for u, v in sorted(g.edges()):
        lines.append(f"  {ids[u]} --> {ids[v]}")
    return "\n".join(lines) + "\n"


def to_json(g: nx.DiGraph) -> str:
    data = {"nodes": [{"id": n, **d} for n, d in sorted(g.nodes(data=True))],
            "edges": [{"from": u, "to": v} for u, v in sorted(g.edges())]}
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def _q(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace('"', '\\"')
