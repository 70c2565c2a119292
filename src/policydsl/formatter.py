"""AST → canonical policy text. `parse(format(m)) == m` for every module (tested with hypothesis).

Comments are not yet carried through (the AST has none); `policydsl fmt` will need them before it rewrites files.
"""

from __future__ import annotations

from . import ast

INDENT = "  "
# binding strength of each binary operator: higher binds tighter
_PRECEDENCE = {"or": 1, "and": 2, "==": 4, "!=": 4, "<": 4, "<=": 4, ">": 4, ">=": 4, "in": 4, "not in": 4,
               "+": 5, "-": 5, "*": 6, "/": 6}


def format_module(module: ast.Module) -> str:
    """The whole file, one declaration after another separated by blank lines."""
    return "\n\n".join(format_decl(d) for d in module.decls) + "\n"


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'


def format_decl(d: ast.Decl) -> str:
    return _DECL[type(d)](d)


def _header(d: ast.PolicyHeader) -> str:
    out = f"policy {d.name}" + (f" {quote(d.title)}" if d.title is not None else "")
    if d.subject:
        out += f"\n{INDENT}subject {d.subject}"
    if d.source is not None:
        out += f"\n{INDENT}source {quote(d.source)}"
    if d.effective:
        out += f"\n{INDENT}effective {d.effective.isoformat()}"
    return out


def _labels(labels: tuple[ast.Label, ...]) -> str:
    return ", ".join(_label(label) for label in labels)


def _label(label: ast.Label) -> str:
    name = label.name
    return name if name.isidentifier() and not name[0].isdigit() else quote(name)


def _type(t: ast.TypeRef) -> str:
    if isinstance(t, ast.NamedType):
        return t.name
    if isinstance(t, ast.ListType):
        return f"list of {t.element}" + (f" by {t.by}" if t.by else "")
    name = f" {t.name}" if t.name else ""
    return f"enum{name}{' ordered' if t.ordered else ''} {{ {_labels(t.labels)} }}"


def _fields(fields: tuple[ast.FieldDecl, ...]) -> str:
    return "".join(f"{INDENT}{f.name}: {_type(f.type)}\n" for f in fields)


def _notes(notes: ast.Annotations, indent: str = INDENT) -> str:
    parts = [f"{c.kind} {quote(c.text)}" for c in notes.citations]
    parts += [f"explain {e.lang} {quote(e.template)}" for e in notes.explains]
    return "".join(f"\n{indent}{p}" for p in parts)


def _prefix(override: bool, outcome: bool = False) -> str:
    return ("override " if override else "") + ("outcome " if outcome else "")


def _enum(d: ast.EnumDecl) -> str:
    return f"enum {d.name}{' ordered' if d.ordered else ''} {{ {_labels(d.labels)} }}"


def _record(d: ast.RecordDecl) -> str:
    key = f" key {d.key}" if d.key else ""
    return f"record {d.name}{key} {{\n{_fields(d.fields)}}}"


def _list(d: ast.ListDecl) -> str:
    key = f" key {d.key}" if d.key else ""
    return f"list {d.name} from {quote(d.path)}{key} {{\n{_fields(d.fields)}}}{_notes(d.notes)}"


def _param(d: ast.ParamDecl) -> str:
    head = f"{_prefix(d.override)}param {d.name}: {_type(d.type)}"
    if len(d.values) == 1 and d.values[0].start is None:
        v = d.values[0]
        return f"{head} = {expr(v.value)}{_notes(v.notes)}"
    body = "".join(f"{INDENT}from {v.start.isoformat()} = {expr(v.value)}{_notes(v.notes, INDENT * 2)}\n"
                   for v in d.values)
    return f"{head} {{\n{body}}}"


def _typed(name: str, t: ast.TypeRef | None) -> str:
    return f"{name}: {_type(t)}" if t is not None else name


def _value(d: ast.ValueDecl) -> str:
    kind = "outcome" if d.is_outcome else "fact"
    return f"{_prefix(d.override)}{kind} {_typed(d.name, d.type)} = {expr(d.expr)}{_notes(d.notes)}"


def _table(d: ast.TableDecl) -> str:
    rows = []
    for r in d.rows:
        head = f"when {expr(r.condition)}" if r.condition is not None else "otherwise"
        rows.append(f"{INDENT}{head} -> {expr(r.value)}{_notes(r.notes, INDENT * 2)}\n")
    return (f"{_prefix(d.override, d.is_outcome)}table {_typed(d.name, d.type)} ({d.hit} hit){_notes(d.notes)} "
            f"{{\n{''.join(rows)}}}")


def _eligibility(d: ast.EligibilityDecl) -> str:
    conds = "".join(f"{INDENT}{c.name}: {expr(c.expr)}{_notes(c.notes, INDENT * 2)}\n" for c in d.conditions)
    return f"{_prefix(d.override, d.is_outcome)}eligibility {d.name}{_notes(d.notes)} {{\n{conds}}}"


def _summary(d: ast.SummaryDecl) -> str:
    return f"{_prefix(d.override)}summary {_typed(d.name, d.type)} = {expr(d.expr)}{_notes(d.notes)}"


def _example(d: ast.ExampleDecl) -> str:
    lines = [f"example {quote(d.title)} {{"]
    if d.as_of:
        lines.append(f"{INDENT}as of {d.as_of.isoformat()}")
    given = f"given {d.record_type} " if d.record_type else "given "
    lines.append(f"{INDENT}{given}{expr(d.given)}")
    lines.append(f"{INDENT}expect " + ", ".join(f"{e.name} = {expr(e.value)}" for e in d.expects))
    lines.append("}")
    return "\n".join(lines)


_DECL = {ast.PolicyHeader: _header, ast.Import: lambda d: f"import {quote(d.path)}",
         ast.Extends: lambda d: f"extends {quote(d.path)}", ast.EnumDecl: _enum, ast.RecordDecl: _record,
         ast.ListDecl: _list, ast.ParamDecl: _param, ast.ValueDecl: _value, ast.TableDecl: _table,
         ast.EligibilityDecl: _eligibility, ast.SummaryDecl: _summary, ast.ExampleDecl: _example}


# ------------------------------------------------------------------------------------------------ expressions

def expr(e: ast.Expr, context: int = 0) -> str:
    """An expression, parenthesised only where the surrounding operator binds tighter."""
    text, strength = _expr(e)
    return f"({text})" if strength < context else text


def _expr(e: ast.Expr) -> tuple[str, int]:
    if isinstance(e, ast.Literal):
        return _literal(e), 9
    if isinstance(e, ast.Name):
        return e.name, 9
    if isinstance(e, ast.Attr):
        return f"{expr(e.obj, 8)}.{e.name}", 8
    if isinstance(e, ast.Index):
        return f"{expr(e.obj, 8)}[{expr(e.key)}]", 8
    if isinstance(e, ast.Unary):
        if e.op == "not":
            return f"not {expr(e.operand, 3)}", 3
        return f"-{expr(e.operand, 7)}", 7
    if isinstance(e, ast.Binary):
        p = _PRECEDENCE[e.op]
        if p == 4:  # comparisons do not chain: both sides must bind tighter
            return f"{expr(e.left, 5)} {e.op} {expr(e.right, 5)}", 4
        return f"{expr(e.left, p)} {e.op} {expr(e.right, p + 1)}", p
    if isinstance(e, ast.IfExpr):
        return f"if {expr(e.cond)} then {expr(e.then)} else {expr(e.otherwise)}", 0
    if isinstance(e, ast.MatchExpr):
        arms = [" | ".join(_label(label) for label in a.labels) + f" -> {expr(a.value)}" for a in e.arms]
        if e.default is not None:
            arms.append(f"else -> {expr(e.default)}")
        return f"match {expr(e.subject)} {{ {', '.join(arms)} }}", 9
    if isinstance(e, ast.Call):
        args = ", ".join(expr(a) for a in e.args)
        where = f" where {expr(e.where)}" if e.where is not None else ""
        return f"{e.func}({args}{where})", 9
    if isinstance(e, ast.ListLit):
        return "[" + ", ".join(expr(i) for i in e.items) + "]", 9
    if isinstance(e, ast.RecordLit):
        if not e.fields:
            return "{ }", 9
        return "{ " + ", ".join(f"{f.name}: {expr(f.value)}" for f in e.fields) + " }", 9
    raise TypeError(f"cannot format {type(e).__name__}")


def _literal(e: ast.Literal) -> str:
    if e.kind == "text":
        return quote(e.value)
    if e.kind == "bool":
        return "true" if e.value else "false"
    if e.kind == "date":
        return e.value.isoformat()
    return e.text  # numbers, percentages, money and durations keep the form the drafter chose
