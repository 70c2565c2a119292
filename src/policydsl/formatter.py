"""AST → canonical policy text. `parse(format(m)) == m` for every module (tested with hypothesis).

`format_source(text)` keeps the file's comments: each comment stays with the declaration, field, row or condition it
stood before or beside; comments inside a multi-line expression move to just before that element.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import ast
from .diagnostics import display_width
from .syntax import parse_comments, parse_module

INDENT = "  "
LINE = 100  # longer if/else chains and matches are broken over lines
# binding strength of each binary operator: higher binds tighter
_PRECEDENCE = {"or": 1, "and": 2, "==": 4, "!=": 4, "<": 4, "<=": 4, ">": 4, ">=": 4, "in": 4, "not in": 4,
               "+": 5, "-": 5, "*": 6, "/": 6}


@dataclass
class Comments:
    """The file's comments by line; formatting takes them in source order so none is lost or repeated."""

    by_line: dict[int, str] = field(default_factory=dict)

    def before(self, line: int) -> list[str]:
        """Comments above `line` not yet placed."""
        return [text for _, text in self.numbered_before(line)]

    def numbered_before(self, line: int) -> list[tuple[int, str]]:
        taken = sorted(n for n in self.by_line if n < line)
        return [(n, self.by_line.pop(n)) for n in taken]

    def paragraphs_before(self, line: int) -> list[str]:
        """Comments above a declaration, keeping one blank line wherever the source had blank lines."""
        out: list[str] = []
        previous = None
        for n, text in self.numbered_before(line):
            if previous is not None and n - previous > 1:
                out.append("")
            out.append(text)
            previous = n
        if previous is not None and line - previous > 1:
            out.append("")
        return out

    def on(self, line: int) -> str | None:
        return self.by_line.pop(line, None)

    def rest(self) -> list[str]:
        return self.before(10 ** 9)


def format_module(module: ast.Module, comments: Comments | None = None) -> str:
    """The whole file, declarations separated by blank lines."""
    c = comments or Comments()
    blocks = [_with_comments(d, c) for d in module.decls]
    tail = c.rest()
    if tail:
        blocks.append("\n".join(tail))
    return "\n\n".join(blocks) + "\n"


def format_source(text: str, path: str = "<text>") -> str:
    """Reformat a file's text into the canonical layout, keeping its comments."""
    module = parse_module(text, path)
    return format_module(module, Comments(dict(parse_comments(text))))


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'


def _with_comments(d: ast.Decl, c: Comments) -> str:
    lead = c.paragraphs_before(d.span.line) if d.span.line else []
    body = _DECL[type(d)](d, c)
    if d.span.line:  # comments inside a multi-line expression move above the declaration
        lead += [c.by_line.pop(n) for n in sorted(n for n in c.by_line if d.span.line <= n < d.span.end_line)]
    trailing = c.on(d.span.end_line) if d.span.line else None
    if trailing:
        body += "  " + trailing
    return "\n".join(lead + [body])


def _element(text: str, span, c: Comments, indent: str, strip: bool = False) -> str:
    """One line-level element (field, row, condition, dated value) with its comments."""
    if not span.line:
        return f"{indent}{text.rstrip() if strip else text}\n"
    lead = c.before(span.line)
    inner = [c.by_line.pop(n) for n in sorted(n for n in c.by_line if span.line <= n < span.end_line)]
    trailing = c.on(span.end_line)
    lines = [f"{indent}{x}" for x in lead + inner]
    lines.append(f"{indent}{text}  {trailing}" if trailing else f"{indent}{text.rstrip() if strip else text}")
    return "\n".join(lines) + "\n"


def _closing(d, c: Comments) -> str:
    """Comments after the last element of a block, then its closing brace."""
    if not d.span.line:
        return "}"
    return "".join(f"{INDENT}{x}\n" for x in c.before(d.span.end_line)) + "}"


def format_decl(d: ast.Decl) -> str:
    return _DECL[type(d)](d, Comments())


def _header(d: ast.PolicyHeader, c: Comments) -> str:
    out = f"policy {d.name}" + (f" {quote(d.title)}" if d.title is not None else "")
    if d.subject:
        out += f"\n{INDENT}subject {d.subject}"
    if d.source is not None:
        out += f"\n{INDENT}source {quote(d.source)}"
    if d.effective:
        out += f"\n{INDENT}effective {d.effective.isoformat()}"
    if d.assumed is not None:
        out += f"\n{INDENT}assumed {quote(d.assumed)}"
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


def _fields(fields: tuple[ast.FieldDecl, ...], c: Comments) -> str:
    texts = [f"{f.name}: {_type(f.type)}" for f in fields]
    width = max((display_width(t) for t in texts), default=0)
    # trailing comments of a record line up in one column, as drafters write them
    return "".join(_element(t + " " * (width - display_width(t)), f.span, c, INDENT, strip=True)
                   for t, f in zip(texts, fields))


def _notes(notes: ast.Annotations, indent: str = INDENT) -> str:
    parts = [f"{c.kind} {quote(c.text)}" for c in notes.citations]
    parts += [f"explain {e.lang} {quote(e.template)}" for e in notes.explains]
    return "".join(f"\n{indent}{p}" for p in parts)


def _head_comment(text: str, d, c: Comments, items=()) -> str:
    """The first line of a block, with a comment that stood on it (unless the first item shares that line)."""
    shared = bool(items) and items[0].span.line == d.span.line
    note = c.on(d.span.line) if d.span.line and not shared else None
    return f"{text}  {note}" if note else text


def _prefix(override: bool, outcome: bool = False) -> str:
    return ("override " if override else "") + ("outcome " if outcome else "")


def _enum(d: ast.EnumDecl, c: Comments) -> str:
    return f"enum {d.name}{' ordered' if d.ordered else ''} {{ {_labels(d.labels)} }}"


def _record(d: ast.RecordDecl, c: Comments) -> str:
    key = f" key {d.key}" if d.key else ""
    head = _head_comment(f"record {d.name}{key} {{", d, c, d.fields)
    return f"{head}\n{_fields(d.fields, c)}{_closing(d, c)}"


def _list(d: ast.ListDecl, c: Comments) -> str:
    key = f" key {d.key}" if d.key else ""
    head = _head_comment(f"list {d.name} from {quote(d.path)}{key} {{", d, c, d.fields)
    return f"{head}\n{_fields(d.fields, c)}{_closing(d, c)}{_notes(d.notes)}"


def _param(d: ast.ParamDecl, c: Comments) -> str:
    head = f"{_prefix(d.override)}param {d.name}: {_type(d.type)}"
    if len(d.values) == 1 and d.values[0].start is None:
        v = d.values[0]
        return f"{head} = {expr(v.value)}{_notes(v.notes)}"
    body = "".join(_element(f"from {v.start.isoformat()} = {expr(v.value)}{_notes(v.notes, INDENT * 2)}", v.span, c,
                            INDENT) for v in d.values)
    return f"{_head_comment(head + ' {', d, c, d.values)}\n{body}{_closing(d, c)}"


def _typed(name: str, t: ast.TypeRef | None) -> str:
    return f"{name}: {_type(t)}" if t is not None else name


def _value(d: ast.ValueDecl, c: Comments) -> str:
    kind = "outcome" if d.is_outcome else "fact"
    head = f"{_prefix(d.override)}{kind} {_typed(d.name, d.type)} ="
    return f"{head}{_long_expr(d.expr, len(head))}{_notes(d.notes)}"


def _long_expr(e: ast.Expr, used: int) -> str:
    """' expr' on the same line, or an if/else chain or match broken over lines when it would be too long."""
    flat = expr(e)
    if used + len(flat) + 1 <= LINE:
        return " " + flat
    if isinstance(e, ast.IfExpr):
        lines, cur = [], e
        while isinstance(cur, ast.IfExpr):
            word = "if" if not lines else "else if"
            lines.append(f"{INDENT}{word} {expr(cur.cond)} then {expr(cur.then)}")
            cur = cur.otherwise
        lines.append(f"{INDENT}else {expr(cur)}")
        return "\n" + "\n".join(lines)
    if isinstance(e, ast.MatchExpr):
        arms = [f"{INDENT * 2}" + " | ".join(_label(x) for x in a.labels) + f" -> {expr(a.value)}" for a in e.arms]
        if e.default is not None:
            arms.append(f"{INDENT * 2}else -> {expr(e.default)}")
        return f" match {expr(e.subject)} {{\n" + "\n".join(arms) + f"\n{INDENT}}}"
    return " " + flat


def _table(d: ast.TableDecl, c: Comments) -> str:
    head = _head_comment(f"{_prefix(d.override, d.is_outcome)}table {_typed(d.name, d.type)} ({d.hit} hit)"
                         f"{_notes(d.notes)} {{", d, c, d.rows)
    rows = []
    for r in d.rows:
        cond = f"when {expr(r.condition)}" if r.condition is not None else "otherwise"
        rows.append(_element(f"{cond} -> {expr(r.value)}{_notes(r.notes, INDENT * 2)}", r.span, c, INDENT))
    return f"{head}\n{''.join(rows)}{_closing(d, c)}"


def _eligibility(d: ast.EligibilityDecl, c: Comments) -> str:
    head = _head_comment(f"{_prefix(d.override, d.is_outcome)}eligibility {d.name}{_notes(d.notes)} {{", d, c, d.conditions)
    conds = "".join(_element(f"{k.name}: {expr(k.expr)}{_notes(k.notes, INDENT * 2)}", k.span, c, INDENT)
                    for k in d.conditions)
    return f"{head}\n{conds}{_closing(d, c)}"


def _summary(d: ast.SummaryDecl, c: Comments) -> str:
    return f"{_prefix(d.override)}summary {_typed(d.name, d.type)} = {expr(d.expr)}{_notes(d.notes)}"


def _example(d: ast.ExampleDecl, c: Comments) -> str:
    lines = [f"example {quote(d.title)} {{"]
    if d.as_of:
        lines.append(f"{INDENT}as of {d.as_of.isoformat()}")
    given = f"given {d.record_type} " if d.record_type else "given "
    lines.append(f"{INDENT}{given}{expr(d.given)}")
    lines.append(f"{INDENT}expect " + ", ".join(f"{e.name} = {expr(e.value)}" for e in d.expects))
    lines.extend(f"{INDENT}{x}" for x in c.before(d.span.end_line) if d.span.line)
    lines.append("}")
    return "\n".join(lines)


_DECL = {ast.PolicyHeader: _header, ast.Import: lambda d, c: f"import {quote(d.path)}",
         ast.Extends: lambda d, c: f"extends {quote(d.path)}", ast.EnumDecl: _enum, ast.RecordDecl: _record,
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
