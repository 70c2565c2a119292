"""Stage 3 — graph: the dependency graph of a checked policy, cycle reports, evaluation order, exports.

Vertices are input fields, params and nodes (facts, outcomes, tables, eligibility); an edge u → v means v reads u.
"""

from __future__ import annotations

import json

import networkx as nx

from . import ir
from .diagnostics import Diagnostic

KIND_OF = {"field": "input", "param": "param"}


def build(policy: ir.Policy) -> nx.DiGraph:
    """The DiGraph of a policy; each vertex has `kind` (input/param/fact/outcome/table/eligibility) and `type`."""
    g = nx.DiGraph()
    for name, ftype in policy.subject.fields:
        g.add_node(name, kind="input", type=str(ftype))
    for name, param in policy.params.items():
        g.add_node(name, kind="param", type=str(param.type))
    for name, node in policy.nodes.items():
        kind = "outcome" if node.is_outcome else node.kind
        g.add_node(name, kind=kind, type=str(node.type))
    for name, node in policy.nodes.items():
        for read in node.reads:
            if read in g:
                g.add_edge(read, name)
    return g


def cycle_diagnostics(policy: ir.Policy, g: nx.DiGraph) -> list[Diagnostic]:
    """One error per cycle among nodes, naming the whole path and pointing at each member."""
    out = []
    for component in nx.strongly_connected_components(g):
        members = sorted(component)
        if len(members) == 1 and not g.has_edge(members[0], members[0]):
            continue
        found = [u for u, _ in nx.find_cycle(g.subgraph(members), source=members[0])]
        # edges run from what is read to its reader; say it the drafter's way: a reads b reads c reads a
        cycle = [found[0]] + found[:0:-1]
        path = " → ".join(cycle + [cycle[0]])
        first = policy.nodes[cycle[0]]
        related = tuple((policy.nodes[n].span, f"'{n}' is defined here") for n in cycle[1:])
        out.append(Diagnostic(first.span, f"circular definition: {path}",
                              "a value cannot depend on itself; break the circle by computing one of them from inputs",
                              related=related))
    return out


def evaluation_order(policy: ir.Policy, g: nx.DiGraph | None = None) -> list[str]:
    """Node names in a topological order (ties broken by name so the order is reproducible)."""
    g = g if g is not None else build(policy)
    order = nx.lexicographical_topological_sort(g)
    return [n for n in order if n in policy.nodes]


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
