"""Questions asked of IR expressions: their children, the references in them, which sub-expressions decide."""

from __future__ import annotations

from .. import ir


def _guard_field(x: ir.IExpr) -> str | None:
    """The field of a scope guard `F != c` / `F not in [...]` (in `F != 书记 or …`: the rule is for 书记 only)."""
    if isinstance(x, ir.BinaryOp) and x.op in ("ne", "notin") and isinstance(x.left, ir.Ref) \
            and x.left.kind == "field" and (isinstance(x.right, ir.Const) or (
                isinstance(x.right, ir.ListItems) and all(isinstance(i, ir.Const) for i in x.right.items))):
        return x.left.name
    return None


def _is_condition(x: ir.IExpr) -> bool:
    """A bool expression best read as a question (comparison, and/or/not, membership)."""
    return (isinstance(x, ir.BinaryOp) and x.op in ("and", "or", "eq", "ne", "lt", "le", "gt", "ge", "in", "notin")) \
        or (isinstance(x, ir.UnaryOp) and x.op == "not")


def _flatten(x: ir.IExpr, op: str) -> list[ir.IExpr]:
    if isinstance(x, ir.BinaryOp) and x.op == op:
        return _flatten(x.left, op) + _flatten(x.right, op)
    return [x]


_CHILDREN: dict[int, tuple] = {}


def _children(x) -> tuple:
    """The sub-expressions of an IR expression (memoised: the IR is immutable and outlives the explanations)."""
    found = _CHILDREN.get(id(x))
    if found is None or found[0] is not x:
        if len(_CHILDREN) > 200_000:  # a long-lived process (the language server) loads many policies
            _CHILDREN.clear()
        found = _CHILDREN[id(x)] = (x, tuple(_children_of(x)))
    return found[1]


def _children_of(x) -> list:
    out = []
    for f in ("operand", "left", "right", "cond", "then", "otherwise", "subject", "default", "source", "element",
              "where", "key", "obj"):
        c = getattr(x, f, None)
        if isinstance(c, ir.IExpr):
            out.append(c)
    out += list(getattr(x, "args", ())) + list(getattr(x, "items", ()))
    out += [val for _, val in getattr(x, "arms", ())]
    return out


def _refs(x: ir.IExpr) -> list[ir.Ref]:
    if isinstance(x, ir.Ref):
        return [x]
    return [r for c in _children(x) for r in _refs(c)]


def _decision_exprs(body) -> list[ir.IExpr]:
    """The sub-expressions whose value decides a branch: comparison operands, conditions, match subjects."""
    if isinstance(body, ir.TableBody):
        return [r.condition for r in body.rows if r.condition is not None] + \
            [x for r in body.rows for x in _decision_exprs(r.value)]
    if isinstance(body, ir.EligibilityBody):
        return [c.expr for c in body.conditions]
    out = []
    if isinstance(body, ir.If):
        out.append(body.cond)
    if isinstance(body, ir.Match):
        out.append(body.subject)
    if isinstance(body, ir.BinaryOp) and body.op in ("eq", "ne", "lt", "le", "gt", "ge", "in", "notin"):
        out.append(body)
    for c in _children(body):
        if not isinstance(c, ir.Aggregate):
            out.extend(_decision_exprs(c))
    return out


def _decides(body) -> bool:
    return bool(_decision_exprs(body))


def _case_guard(x: ir.IExpr) -> bool:
    """A condition about which case the record is (its post, its kind, whether it left): a bool field, a field
    compared with a constant or tested against constants, or `and` of such with anything."""
    if isinstance(x, ir.Ref):
        return x.kind == "field"
    if isinstance(x, ir.BinaryOp) and x.op in ("eq", "in") and isinstance(x.left, ir.Ref) and x.left.kind == "field":
        return isinstance(x.right, ir.Const) or (isinstance(x.right, ir.ListItems) and
                                                 all(isinstance(i, ir.Const) for i in x.right.items))
    if isinstance(x, ir.BinaryOp) and x.op == "and":
        return _case_guard(x.left) or _case_guard(x.right)
    return False
