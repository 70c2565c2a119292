"""AST → canonical policy text. `parse(format(m)) == m` for every module (tested with hypothesis).

`format_source(text)` keeps the file's comments: each comment stays with the declaration, field, row or condition it
stood before or beside; comments inside a multi-line expression move to just before that element.

The layout (docs/cli.md, `fmt`) is the one the shipped policy files are written in:

* lines are at most `WIDTH` (120) columns, CJK characters counting two; only what cannot be broken (a long quoted
  text, a long title) runs past it;
* declarations are separated as the author separated them: one blank line where the source had one or more, none
  where it had none (so a run of one-line params stays a run); comments keep their paragraphs;
* a citation (`source`, `assumed`, `explain`) stays on its item's line when the author put it there and the line
  fits, else it goes on a continuation line indented one level deeper; citations on the lines of a run of one-line
  items (params, dated values, rows, conditions) line up in one column, and so do the trailing comments of a
  record's fields and of a run of one-line declarations;
* an expression that does not fit, or that the author broke over lines, is broken at its outermost construct: an
  `if … else if … else` chain one branch a line, a sum or an `and`/`or` chain one operand a line with the operator
  in front, a `match` one arm (or one group of arms the author wrote together) a line, a call one argument a line;
  a condition of a table row or an eligibility block wraps its `and`/`or` chain under its first operand;
* in `given` records, `expect`s and broken `match`es, what the author wrote on one line stays on one line while
  it fits (continuation lines of a record at a hanging indent of four; a long `expect` line goes on over another
  `expect`); a list of records that is broken starts after `name: [` at the end of a line, or follows it and lines
  up under it when `name: [` begins a line;
* hit policies are written `(first hit)` and `(unique)` (the parser also reads `(first)` and `(unique hit)`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

from . import ast
from .diagnostics import display_width
from .syntax import parse_comments, parse_module

INDENT = "  "
HANG = INDENT * 2  # continuation lines of a wrapped expression, record literal or list
WIDTH = 120
HIT = {"first": "first hit", "unique": "unique"}
# binding strength of each binary operator: higher binds tighter
_PRECEDENCE = {"or": 1, "and": 2, "==": 4, "!=": 4, "<": 4, "<=": 4, ">": 4, ">=": 4, "in": 4, "not in": 4,
               "+": 5, "-": 5, "*": 6, "/": 6}
_CHAINS = (1, 2, 5)  # or, and, + - : the operators a long expression is broken at


def _fits(text: str) -> bool:
    return display_width(text) <= WIDTH


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

    def first_before(self, line: int) -> int | None:
        """The line of the first unplaced comment above `line`."""
        return min((n for n in self.by_line if n < line), default=None)

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

    def within(self, start: int, end: int) -> list[str]:
        """Comments on lines start..end-1 (inside a multi-line element), taken."""
        return [self.by_line.pop(n) for n in sorted(n for n in self.by_line if start <= n < end)]

    def on(self, line: int) -> str | None:
        return self.by_line.pop(line, None)

    def rest(self) -> list[str]:
        return self.before(10 ** 9)


# ------------------------------------------------------------------------------------------------ items and alignment

@dataclass
class _Item:
    """One declaration, field, row, condition or dated value, laid out.

    A one-line item is `head` + `notes` (its citations on the same line, "" if none) + `comment`; `rest` holds the
    further lines of a multi-line item (then `head` is its first line and `notes` is empty)."""

    head: str
    notes: str = ""
    rest: list[str] = field(default_factory=list)
    comment: str | None = None
    lead: list[str] = field(default_factory=list)  # comment lines above it ("" = a blank line)
    blank_before: bool = False

    @property
    def one_line(self) -> bool:
        return not self.rest


def _align_notes(items: list[_Item], offset: int = 0) -> list[str | None]:
    """The code of each one-line item with its notes; the notes of a run of consecutive one-line items line up
    in one column, unless that would push one of its lines past the width (then the run keeps two spaces).

    A run ends at a blank line, a comment line, an item without notes or a multi-line item."""
    codes: list[str | None] = [None if it.notes else it.head for it in items]
    run: list[int] = []

    def flush() -> None:
        col = max((display_width(items[j].head) for j in run), default=0) + 2
        aligned = all(_fits(" " * (offset + col) + items[j].notes) for j in run)
        for j in run:
            head = items[j].head
            codes[j] = head + " " * ((col if aligned else display_width(head) + 2) - display_width(head)) \
                + items[j].notes
        run.clear()

    for i, item in enumerate(items):
        if item.blank_before or item.lead or not item.one_line or not item.notes:
            flush()
        if item.one_line and item.notes:
            run.append(i)
    flush()
    return codes


def _render_items(items: list[_Item], indent: str, block_comments: bool) -> list[str]:
    """Lines of consecutive items at `indent`. Trailing comments line up in one column: over the whole block when
    `block_comments` (a record's fields, a table's rows), else over each run of consecutive one-line items."""
    codes = _align_notes(items, len(indent))
    commented = [i for i, it in enumerate(items) if it.one_line and it.comment]
    columns: dict[int, int] = {}
    runs: list[list[int]] = []
    for i in commented:
        joined = runs and (block_comments or (runs[-1][-1] == i - 1 and not items[i].blank_before
                                              and not items[i].lead))
        if joined:
            runs[-1].append(i)
        else:
            runs.append([i])
    for run in runs:
        # the widest lines give way (two spaces) until the column keeps every aligned line within the width
        members = sorted(run, key=lambda j: display_width(codes[j]))
        while members:
            col = display_width(codes[members[-1]]) + 2
            if len(members) == 1 or all(_fits(" " * (len(indent) + col) + items[j].comment) for j in members):
                break
            members.pop()
        columns.update({j: display_width(codes[j]) + 2 for j in run})
        columns.update(dict.fromkeys(members, col))
    out: list[str] = []
    for i, item in enumerate(items):
        if item.blank_before and out:
            out.append("")
        out.extend(f"{indent}{x}" if x else "" for x in item.lead)
        if item.one_line:
            code = codes[i]
            if item.comment:
                code += " " * (columns[i] - display_width(code)) + item.comment
            out.append(f"{indent}{code}")
        else:
            lines = [item.head] + item.rest
            if item.comment:
                lines[-1] += "  " + item.comment
            out.extend(f"{indent}{x}" for x in lines)
    return out


# ------------------------------------------------------------------------------------------------ module

def format_module(module: ast.Module, comments: Comments | None = None) -> str:
    """The whole file: declarations separated as the source separated them (one blank line at most)."""
    c = comments or Comments()
    items = []
    previous = None
    for d in module.decls:
        first_comment = c.first_before(d.span.line) if d.span.line else None
        item = _decl_item(d, c)
        if previous is not None:
            if d.span.line and previous.span.line:
                start = first_comment if first_comment is not None else d.span.line
                item.blank_before = start - previous.span.end_line > 1
            else:
                item.blank_before = not (_one_liner_kind(previous) and type(previous) is type(d))
        items.append(item)
        previous = d
    lines = _render_items(items, "", block_comments=False)
    tail = c.numbered_before(10 ** 9)
    if tail:
        if lines and not (previous is not None and previous.span.line and tail[0][0] == previous.span.end_line + 1):
            lines.append("")
        last = None
        for n, text in tail:
            if last is not None and n - last > 1:
                lines.append("")
            lines.append(text)
            last = n
    return "\n".join(lines) + "\n"


def _one_liner_kind(d: ast.Decl) -> bool:
    """Declarations that, built without a source, are written in runs without blank lines between them."""
    return isinstance(d, (ast.Import, ast.EnumDecl, ast.ParamDecl, ast.SummaryDecl))


def format_source(text: str, path: str = "<text>", keywords: str | None = None) -> str:
    """Reformat a file's text into the canonical layout, keeping its comments, with its keywords in English or
    Chinese (`keywords` "en" / "zh"; by default the surface most of the file's keywords already use)."""
    from .surface import surface_of, to_surface
    module = parse_module(text, path)
    surface = keywords or surface_of(text)
    return to_surface(format_module(module, Comments(dict(parse_comments(text)))), surface)


def format_decl(d: ast.Decl) -> str:
    return "\n".join(_render_items([_decl_item(d, Comments())], "", block_comments=False))


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'


def _decl_item(d: ast.Decl, c: Comments) -> _Item:
    lead = c.paragraphs_before(d.span.line) if d.span.line else []
    item = _DECL[type(d)](d, c)
    lead += item.lead
    if d.span.line:  # comments left inside a multi-line declaration move above it
        lead += c.within(d.span.line, d.span.end_line)
        item.comment = c.on(d.span.end_line)
    item.lead = lead
    return item


def _lines_item(lines: list[str]) -> _Item:
    return _Item(lines[0], rest=lines[1:])


def _element(item: _Item, span, c: Comments) -> _Item:
    """An item inside a block takes the comments above it, inside it and beside its last line."""
    if span.line:
        item.lead = c.before(span.line) + c.within(span.line, span.end_line)
        item.comment = c.on(span.end_line)
    return item


# ------------------------------------------------------------------------------------------------ citations

def _note_texts(notes: ast.Annotations) -> list[tuple[str, int]]:
    """Each annotation written out, with its source line (0 when built without a source), in source order."""
    parts = [(citation(x), x.span.line) for x in notes.citations]
    parts += [(f"explain {x.lang} {quote(x.template)}", x.span.line) for x in notes.explains]
    return sorted(parts, key=lambda p: p[1]) if all(line for _, line in parts) else parts


def citation(note: ast.Citation) -> str:
    """`source "free text"`, `source DOCUMENT "clause" en "…"`, `assumed "理由" en "reason"`."""
    if note.document is not None:
        text = f"{note.kind} {note.document}" + (f" {quote(note.text)}" if note.text else "")
    else:
        text = f"{note.kind} {quote(note.text)}"
    return text + _en(note.en)


def _en(text: str | None) -> str:
    return f" en {quote(text)}" if text is not None else ""


def _split_notes(code: str, notes: ast.Annotations, line: int, inline_default: bool,
                 offset: int = 0) -> tuple[str, list[str]]:
    """(notes on the item's line, notes on lines below) for an item whose code ends on source line `line`.

    Notes stay on the item's line when the author put them there (without a source: when `inline_default`) and
    the line still fits the width (`offset`: the columns in front of `code`)."""
    parts = _note_texts(notes)
    k = 0
    for _, at in parts:
        if not ((at == line) if (at and line) else inline_default):
            break
        k += 1
    inline = [t for t, _ in parts[:k]]
    while inline and display_width(code + "  " + "  ".join(inline)) + offset > WIDTH:
        inline.pop()
    return "  ".join(inline), [t for t, _ in parts[len(inline):]]


def _noted(code: list[str], notes: ast.Annotations, end: int, inline_default: bool, offset: int = 0) -> _Item:
    """An item of code lines and its annotations; notes below go one level deeper than the item."""
    if len(code) == 1:
        inline, below = _split_notes(code[0], notes, end, inline_default, offset)
        if below:
            return _Item(_join(code[0], inline), rest=[INDENT + x for x in below])
        return _Item(code[0], notes=inline)
    return _Item(code[0], rest=code[1:] + [INDENT + t for t, _ in _note_texts(notes)])


def _join(code: str, notes: str) -> str:
    return f"{code}  {notes}" if notes else code


def _end(e) -> int:
    return e.span.end_line if e.span.line else 0


# ------------------------------------------------------------------------------------------------ declarations

def _header(d: ast.PolicyHeader, c: Comments) -> _Item:
    title = f" {quote(d.title)}" if d.title is not None else ""
    if d.title is not None:
        title += _en(d.title_en)
    lines = [f"policy {d.name}{title}"]
    if d.subject:
        lines.append(f"{INDENT}subject {d.subject}")
    if d.source is not None:
        lines.append(f"{INDENT}{citation(d.citation())}")
    if d.effective:
        lines.append(f"{INDENT}effective {d.effective.isoformat()}")
    if d.assumed is not None:
        lines.append(f"{INDENT}{citation(d.assumption())}")
    if d.languages:
        lines.append(f"{INDENT}languages {' '.join(d.languages)}")
    return _lines_item(lines)


# ------------------------------------------------------------------------------------------------ names, documents

def _glossary(d: ast.GlossaryDecl, c: Comments) -> _Item:
    """One entry a line, its clauses in canonical order: zh, en, unit, actionable, better, serious."""
    items = [_element(_Item(f"{_target(e)}: {' '.join(_term_clauses(e))}"), e.span, c) for e in d.entries]
    return _lines_item(_block(_head_comment("glossary {", d, c, d.entries), items, d, c))


def _target(e: ast.GlossaryEntry) -> str:
    return e.owner if e.member is None else f"{e.owner}.{_label(ast.Label(e.member))}"


def _term_clauses(e: ast.GlossaryEntry) -> list[str]:
    out = [f"zh {quote(e.zh)}"] if e.zh is not None else []
    if e.en is not None:
        out.append(f"en {quote(e.en)}")
    if e.unit_zh is not None:
        out.append(f"unit {quote(e.unit_zh)}" + (f" {quote(e.unit_en)}" if e.unit_en is not None else ""))
    if e.actionable:
        out.append("actionable")
    if e.better is not None:
        out.append(f"better {_better(e.better)}")
    if e.serious:
        out.append("serious")
    return out


def _better(b: ast.BetterClause) -> str:
    if b.direction is not None:
        return b.direction
    if isinstance(b.value, bool):
        return "true" if b.value else "false"
    return _label(ast.Label(str(b.value)))


def _document(d: ast.DocumentDecl, c: Comments) -> _Item:
    """`document NAME "title" {` then en, issuer, date, published, number, url, assumed — one a line."""
    clauses = []
    if d.en is not None:
        clauses.append(("en", f"en {quote(d.en)}"))
    if d.issuer is not None:
        clauses.append(("issuer", f"issuer {quote(d.issuer)}" + _en(d.issuer_en)))
    if d.date is not None:
        clauses.append(("date", f"date {d.date.isoformat()}"))
    clauses += [(word, f"{word} {quote(getattr(d, word))}") for word in ("published", "number", "url")
                if getattr(d, word) is not None]
    if d.assumed is not None:
        clauses.append(("assumed", citation(d.assumed)))
    return _clause_block(f"document {d.name} {quote(d.title)} {{", clauses, d, c)


def _recourse(d: ast.RecourseDecl, c: Comments) -> _Item:
    """`recourse {` then office, review, appeal, contact, assumed — one a line."""
    clauses = [("office", f"office {quote(d.office)}" + _en(d.office_en))] if d.office is not None else []
    for word in ("review", "appeal"):
        step = getattr(d, word)
        if step is not None:
            within = f" within {step.within.text}" if step.within is not None else ""
            clauses.append((word, f"{word} {quote(step.text)}{_en(step.en)}{within}"))
    if d.contact is not None:
        clauses.append(("contact", f"contact {quote(d.contact)}" + _en(d.contact_en)))
    if d.assumed is not None:
        clauses.append(("assumed", citation(d.assumed)))
    return _clause_block("recourse {", clauses, d, c)


@dataclass(frozen=True)
class _At:
    """Where a clause was written (for `_head_comment`, which asks whether the first item shares the head's line)."""

    span: object


def _clause_block(head: str, clauses: list[tuple[str, str]], d, c: Comments) -> _Item:
    """A block of one clause a line, in canonical order; each keeps the comments above and beside it."""
    spans = dict(d.clause_spans)
    written = sorted((w for w, _ in clauses if w in spans), key=lambda w: (spans[w].line, spans[w].col))
    first = [_At(spans[written[0]])] if written else []
    head = _head_comment(head, d, c, first)
    items: dict[str, _Item] = {}
    for word in written:  # comments are taken in source order, so each stays with its clause
        items[word] = _element(_Item(""), spans[word], c)
    out = []
    for word, text in clauses:
        item = items.get(word) or _Item("")
        item.head = text
        out.append(item)
    return _lines_item(_block(head, out, d, c))


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


def _prefix(override: bool, outcome: bool = False) -> str:
    return ("override " if override else "") + ("outcome " if outcome else "")


def _head_comment(line: str, d, c: Comments, items=()) -> str:
    """The first line of a block, with a comment that stood on it (unless the first item shares that line)."""
    shared = bool(items) and items[0].span.line == d.span.line
    note = c.on(d.span.line) if d.span.line and not shared else None
    return f"{line}  {note}" if note else line


def _fill(pieces: list[str], indent: str, sep: str) -> list[str]:
    """Pieces joined by `sep` and a space, filling lines at `indent` up to the width."""
    lines: list[str] = []
    line = ""
    for i, piece in enumerate(pieces):
        text = piece + (sep if i < len(pieces) - 1 else "")
        if line and not _fits(f"{indent}{line} {text}"):
            lines.append(indent + line)
            line = text
        else:
            line = f"{line} {text}" if line else text
    lines.append(indent + line)
    return lines


def _enum(d: ast.EnumDecl, c: Comments) -> _Item:
    head = f"enum {d.name}{' ordered' if d.ordered else ''}"
    one = f"{head} {{ {_labels(d.labels)} }}"
    if _fits(one):
        return _Item(one)
    return _lines_item([f"{head} {{"] + _fill([_label(x) for x in d.labels], INDENT, ",") + ["}"])


def _block(head: str, items: list[_Item], d, c: Comments, before: int | None = None) -> list[str]:
    """`head {`, the items one level in, the comments left before the end (or line `before`), `}`."""
    body = _render_items(items, INDENT, block_comments=True)
    tail = [f"{INDENT}{x}" for x in c.before(before or d.span.end_line)] if d.span.line else []
    return [head] + body + tail + ["}"]


def _field_items(fields: tuple[ast.FieldDecl, ...], c: Comments) -> list[_Item]:
    return [_element(_Item(_field(f)), f.span, c) for f in fields]


def _field(f: ast.FieldDecl) -> str:
    bounds = f" between {expr(f.bounds[0])} and {expr(f.bounds[1])}" if f.bounds else ""
    return f"{f.name}: {'optional ' if f.optional else ''}{_type(f.type)}{bounds}"


def _record(d: ast.RecordDecl, c: Comments) -> _Item:
    key = f" key {d.key}" if d.key else ""
    head = f"{_prefix(d.override)}record {d.name}{key} {{"
    if d.fields and d.span.line and d.span.line == d.span.end_line:  # written on one line: kept if it fits
        one = f"{head} " + ", ".join(_field(f) for f in d.fields) + " }"
        if _fits(one):
            return _Item(one)
    return _lines_item(_block(_head_comment(head, d, c, d.fields), _field_items(d.fields, c), d, c))


def _list(d: ast.ListDecl, c: Comments) -> _Item:
    key = f" key {d.key}" if d.key else ""
    head = _head_comment(f"list {d.name} from {quote(d.path)}{key} {{", d, c, d.fields)
    parts = _note_texts(d.notes)
    first_note = min((line for _, line in parts if line), default=0)
    lines = _block(head, _field_items(d.fields, c), d, c, before=first_note or None)
    texts = [t for t, _ in parts]
    if texts and _fits(f"}} {texts[0]}"):  # the first citation follows the closing brace, as drafters write it
        lines[-1] = f"}} {texts.pop(0)}"
    return _lines_item(lines + [INDENT + t for t in texts])


def _param(d: ast.ParamDecl, c: Comments) -> _Item:
    head = f"{_prefix(d.override)}param {d.name}: {_type(d.type)}"
    if len(d.values) == 1 and d.values[0].start is None:
        v = d.values[0]
        return _noted(_assign(f"{head} =", v.value, d.span.line), v.notes, _end(v.value), inline_default=True)
    items = [_element(_noted(_assign(f"from {v.start.isoformat()} =", v.value, v.span.line, len(INDENT)), v.notes,
                             _end(v.value), inline_default=True, offset=len(INDENT)), v.span, c)
             for v in d.values]
    return _lines_item(_block(_head_comment(head + " {", d, c, d.values), items, d, c))


def _typed(name: str, t: ast.TypeRef | None) -> str:
    return f"{name}: {_type(t)}" if t is not None else name


def _value(d: ast.ValueDecl, c: Comments) -> _Item:
    kind = "outcome" if d.is_outcome else "fact"
    head = f"{_prefix(d.override)}{kind} {_typed(d.name, d.type)} ="
    return _noted(_assign(head, d.expr, d.span.line), d.notes, _end(d.expr), inline_default=False)


def _summary(d: ast.SummaryDecl, c: Comments) -> _Item:
    head = f"{_prefix(d.override)}summary {_typed(d.name, d.type)} ="
    return _noted(_assign(head, d.expr, d.span.line), d.notes, _end(d.expr), inline_default=False)


def _map(d: ast.MapDecl, c: Comments) -> _Item:
    return _noted(_assign(f"map {d.field} =", d.expr, d.span.line), d.notes, _end(d.expr), inline_default=False)


def _exception(d: ast.ExceptionDecl, c: Comments) -> _Item:
    head = f"exception {d.target} {quote(d.label)} when {expr(d.condition)} ="
    return _noted(_assign(head, d.value, d.span.line), d.notes, _end(d.value), inline_default=False)


def _annotated_head(text: str, d, c: Comments, items) -> tuple[list[str], list[str]]:
    """The first line(s) of a table or eligibility block — `text`, its citations, ` {` — and the comments that
    stood on its first lines (they move above the declaration; one on the `{` line stays there)."""
    inline, below = _split_notes(text, d.notes, d.span.line, inline_default=False, offset=2)
    lines = [f"{text} {inline}" if inline else text] + [INDENT + x for x in below]
    lines[-1] += " {"
    notes = [*d.notes.citations, *d.notes.explains]
    end = max([d.span.line] + [x.span.end_line for x in notes if x.span.line])
    if items and items[0].span.line == end:  # the first row shares the line: the comment is the row's
        end -= 1
    lead = c.within(d.span.line, end) if d.span.line else []
    if d.span.line and (note := c.on(end)):
        lines[-1] += "  " + note
    return lines, lead


def _table(d: ast.TableDecl, c: Comments) -> _Item:
    text = f"{_prefix(d.override, d.is_outcome)}table {_typed(d.name, d.type)} ({HIT[d.hit]})"
    head, lead = _annotated_head(text, d, c, d.rows)
    items = []
    for r in d.rows:
        tail = f" -> {expr(r.value)}"
        code = [f"otherwise{tail}"] if r.condition is None else _wrapped("when ", r.condition, tail)
        items.append(_element(_noted(code, r.notes, _end(r.value), False, len(INDENT)), r.span, c))
    item = _lines_item(head[:-1] + _block(head[-1], items, d, c))
    item.lead = lead
    return item


def _eligibility(d: ast.EligibilityDecl, c: Comments) -> _Item:
    text = f"{_prefix(d.override, d.is_outcome)}eligibility {d.name}"
    head, lead = _annotated_head(text, d, c, d.conditions)
    items = [_element(_noted(_wrapped(f"{k.name}: ", k.expr, ""), k.notes, _end(k.expr), False, len(INDENT)),
                      k.span, c) for k in d.conditions]
    item = _lines_item(head[:-1] + _block(head[-1], items, d, c))
    item.lead = lead
    return item


def _wrapped(prefix: str, e: ast.Expr, suffix: str) -> list[str]:
    """A row's or condition's `prefix` + expression + `suffix` (at one indent) on one line, or, when the condition
    itself is too long, its and/or chain wrapped: as many operands a line as fit, continuation lines under the
    first operand. (A long value after a short condition is left long: wrapping the condition would not help.)"""
    flat = prefix + expr(e) + suffix
    if _fits(INDENT + prefix + expr(e)) or not _is_chain(e):
        return [flat]
    ops, operands, p = _chain(e)
    pieces = [_operand(operands[0], p, True)] + [f"{op} {_operand(o, p, False)}" for op, o in zip(ops, operands[1:])]
    pad = " " * display_width(prefix)
    lines: list[str] = []
    line = prefix + pieces[0]
    for i, piece in enumerate(pieces[1:], start=1):
        end = suffix if i == len(pieces) - 1 else ""
        if _fits(f"{INDENT}{line} {piece}{end}"):
            line = f"{line} {piece}"
        else:
            lines.append(line)
            line = pad + piece
    lines.append(line + suffix)
    return lines if all(_fits(INDENT + x) for x in lines) else [flat]  # wrapping must help


# ------------------------------------------------------------------------------------------------ examples

def _example(d: ast.ExampleDecl, c: Comments) -> _Item:
    lines = [f"example {quote(d.title)} {{"]
    if d.as_of:
        lines.append(f"{INDENT}as of {d.as_of.isoformat()}")

    def element(code: list[str], first: int, last: int) -> None:
        if first:
            lines.extend(f"{INDENT}{x}" for x in c.before(first) + c.within(first, last))
            note = c.on(last)
            if note:
                code[-1] += "  " + note
        lines.extend(code)

    if d.given is not None:
        given = f"{INDENT}given {d.record_type} " if d.record_type else f"{INDENT}given "
        element(_record_lines(given, d.given), d.given.span.line, d.given.span.end_line)
    else:  # given records [ … ]: one record a line (or more, as it needs)
        lines.append(f"{INDENT}given records [")
        for i, record in enumerate(d.records):
            code = _record_lines(INDENT * 2, record)
            code = code[:1] + [INDENT + line for line in code[1:]]  # continuation lines hang under the record
            if i < len(d.records) - 1:
                code[-1] += ","
            element(code, record.span.line, record.span.end_line)
        lines.append(f"{INDENT}]")
    for group in _groups(d.expects):
        for about in _runs(group, lambda e: e.record):
            head = f"{quote(about[0].record)}: " if about[0].record is not None else ""
            code = _expect_lines([f"{e.name} = {expr(e.value)}" for e in about])
            code = [line.replace("expect ", f"expect {head}", 1) for line in code]
            element(code, about[0].span.line, about[-1].span.end_line)
    if d.span.line:
        lines.extend(f"{INDENT}{x}" for x in c.before(d.span.end_line))
    lines.append("}")
    return _lines_item(lines)


def _expect_lines(texts: list[str]) -> list[str]:
    """One `expect` line, or as many as the group needs to stay within the width."""
    lines: list[list[str]] = [[]]
    for t in texts:
        if lines[-1] and not _fits(f"{INDENT}expect " + ", ".join(lines[-1] + [t])):
            lines.append([])
        lines[-1].append(t)
    if len(lines) > 1 and len(lines[-1]) == 1 and len(lines[-2]) >= 3 and _fits(  # no expectation alone
            f"{INDENT}expect " + ", ".join(lines[-2][-1:] + lines[-1])):  # on the last line
        lines[-1].insert(0, lines[-2].pop())
    return [f"{INDENT}expect " + ", ".join(line) for line in lines]


def _runs(items: list, key) -> list[list]:
    """`items` cut where `key` changes."""
    runs: list[list] = []
    for x in items:
        if runs and key(runs[-1][-1]) == key(x):
            runs[-1].append(x)
        else:
            runs.append([x])
    return runs


def _groups(nodes) -> list[list]:
    """The nodes (fields, expectations, arms) the author wrote on one line, each such run a group; without a
    source, all in one group."""
    groups: list[list] = []
    for x in nodes:
        previous = groups[-1][-1] if groups else None
        if previous is not None and (previous.span.end_line == x.span.line if x.span.line
                                     else not previous.span.line):
            groups[-1].append(x)
        else:
            groups.append([x])
    return groups


def _record_lines(prefix: str, rec: ast.RecordLit) -> list[str]:
    """`prefix{ f: v, … }`: the fields the author wrote on one line stay on one line, wrapped at the width with
    continuation lines at HANG (an overflow joins the next line when the two fit together).

    A list that fits on no line of its own is broken: after `name: [` at the end of a line its elements follow at
    HANG, or, when `name: [` begins a line, the first element follows it and the others line up under it; records
    go one a line; ` ]` closes the list on its last element's line."""
    if not rec.fields:
        return [prefix + "{ }"]
    broken = any(_later(a.span.end_line, b.span.line) for a, b in pairwise(rec.fields)) or any(
        _breaks(f, "") for f in rec.fields)  # written over lines by the author (between fields or inside a list)
    if _fits(prefix + expr(rec)) and not broken:
        return [prefix + expr(rec)]
    lines: list[str] = []
    line, fresh = prefix + "{ ", True  # fresh: nothing on the line yet after its indent or `{ `

    def joined(text: str) -> str:
        return line + text if fresh else f"{line} {text}"

    def newline() -> None:
        nonlocal line, fresh
        lines.append(line)
        line, fresh = HANG, True
        placed.clear()

    placed: list[str] = []  # the fields written on the current line
    fields = list(rec.fields)
    index = {id(f): i for i, f in enumerate(fields)}
    overflowed = False
    after_list = None  # the field whose broken list ends the current line
    groups = _groups(fields)
    all_texts = [[_field_text(f, index[id(f)] == len(fields) - 1) for f in group] for group in groups]
    for g, group in enumerate(groups):
        texts = all_texts[g]
        following = (groups[g + 1], all_texts[g + 1]) if g + 1 < len(groups) else None
        if g:
            carry = overflowed and not any(_breaks(f, t) for f, t in zip(group, texts)) \
                and _fits(joined(" ".join(texts)))
            if not carry:
                newline()
        overflowed = False
        for k, (f, text) in enumerate(zip(group, texts)):
            if not _breaks(f, text):
                if after_list is not None and not f.span.line:
                    newline()  # without a source, the field after a broken list starts a line
                elif not fresh and not _fits(joined(text)):
                    carries = following is not None and not any(
                        _breaks(x, t) for x, t in zip(*following)) and _fits(f"{HANG}{text} " + " ".join(following[1]))
                    moved = placed[-1] if (k == len(group) - 1 and len(placed) >= 3 and not carries
                                           and _fits(f"{HANG}{placed[-1]} {text}")) else None
                    if moved:  # no field alone on the last line: the one before comes along
                        line = line[: len(line) - len(moved) - 1]
                    newline()
                    if moved:
                        line, fresh = joined(moved), False
                        placed.append(moved)
                    overflowed = True
                line, fresh = joined(text), False
                placed.append(text)
                after_list = None
                continue
            end = "," if text.endswith(",") else " }"
            opener = f"{f.name}: ["
            if not fresh and _fits(joined(opener)):  # `name: [` ends the line, the elements below at HANG
                lines.append(joined(opener))
                body = _elements(f.value, HANG, HANG, " ]" + end)
            else:
                if not fresh:
                    newline()
                start = joined(opener + " ")
                body = _elements(f.value, start, " " * display_width(start), " ]" + end)
            lines.extend(body[:-1])
            line, fresh, after_list, overflowed = body[-1], False, f, False
            placed.clear()
    lines.append(line)
    return lines


def _elements(v: ast.ListLit, first: str, indent: str, close: str) -> list[str]:
    """The elements of a broken list, the first line starting with `first`, the others at `indent`, `close` at the
    end: as the author grouped them on lines, or filled to the width when one of those lines would be too long."""
    groups = [[expr(x) for x in g] for g in _groups(v.items)]
    whole = [", ".join(g) + ("," if k < len(groups) - 1 else close) for k, g in enumerate(groups)]
    if len(groups) > 1 and not all(_fits((first if k == 0 else indent) + x) for k, x in enumerate(whole)):
        groups = [[x for g in groups for x in g]]
    lines: list[str] = []
    for g, group in enumerate(groups):
        line, fresh = (first if not lines else indent), True
        for k, piece in enumerate(group):
            last = k == len(group) - 1
            text = piece + ("" if last else ",")
            end = (close if g == len(groups) - 1 else ",") if last else ""
            if not fresh and not _fits(f"{line} {text}{end}"):
                lines.append(line)
                line, fresh = indent, True
            line, fresh = (line + text if fresh else f"{line} {text}"), False
        lines.append(line + (close if g == len(groups) - 1 else ","))
    return lines


def _field_text(f: ast.FieldInit, last: bool) -> str:
    return f"{f.name}: {expr(f.value)}" + (" }" if last else ",")


def _breaks(f: ast.FieldInit, text: str) -> bool:
    """A list value that the author broke over lines, or that fits on no line of its own."""
    v = f.value
    if not isinstance(v, ast.ListLit) or not v.items:
        return False
    starts = [v.span.line] + [x.span.end_line for x in v.items[:-1]]
    return not _fits(HANG + text) or any(_later(a, x.span.line) for a, x in zip(starts, v.items))


_DECL = {ast.PolicyHeader: _header, ast.Import: lambda d, c: _Item(f"import {quote(d.path)}"),
         ast.Extends: lambda d, c: _Item(f"extends {quote(d.path)}"), ast.EnumDecl: _enum, ast.RecordDecl: _record,
         ast.ListDecl: _list, ast.ParamDecl: _param, ast.ValueDecl: _value, ast.TableDecl: _table,
         ast.EligibilityDecl: _eligibility, ast.SummaryDecl: _summary, ast.ExampleDecl: _example,
         ast.ExceptionDecl: _exception, ast.MapDecl: _map, ast.GlossaryDecl: _glossary,
         ast.DocumentDecl: _document, ast.RecourseDecl: _recourse}


# ------------------------------------------------------------------------------------------------ long expressions

def _later(a: int, b: int) -> bool:
    """Source line b comes after line a (both known)."""
    return bool(a and b and b > a)


def _is_chain(e: ast.Expr) -> bool:
    return isinstance(e, ast.Binary) and _PRECEDENCE[e.op] in _CHAINS


def _chain(e: ast.Binary) -> tuple[list[str], list[ast.Expr], int]:
    """`a + b - c` → (['+', '-'], [a, b, c], 5): the operands of a left-nested run of one binding strength."""
    p = _PRECEDENCE[e.op]
    ops: list[str] = []
    operands: list[ast.Expr] = []
    cur: ast.Expr = e
    while isinstance(cur, ast.Binary) and _PRECEDENCE[cur.op] == p:
        ops.append(cur.op)
        operands.append(cur.right)
        cur = cur.left
    operands.append(cur)
    return ops[::-1], operands[::-1], p


def _parts(e: ast.Expr) -> list:
    """The parts of a construct between which its author may have broken the line, in order."""
    if isinstance(e, ast.IfExpr):
        return [e.cond, e.then, e.otherwise]
    if _is_chain(e):
        return _chain(e)[1]
    if isinstance(e, ast.MatchExpr):
        return [e.subject, *e.arms] + ([e.default] if e.default is not None else [])
    if isinstance(e, ast.Call):
        return [*e.args] + [part for part in (e.where, e.within) if part is not None] + [k.expr for k in e.order]
    return []


def _broken(e: ast.Expr) -> bool:
    """The author wrote this construct over several lines (between its parts, not only inside one)."""
    parts = _parts(e)
    return any(_later(a.span.end_line, b.span.line) for a, b in pairwise(parts))


def _assign(head: str, e: ast.Expr, line: int, offset: int = 0) -> list[str]:
    """`head expr` (head ends with '='): on one line; broken inside, on the head line (a match; a call the author
    broke or that fits nowhere); or on the lines below, where the author put it or where it fits better.
    `offset`: the columns in front of `head`."""
    flat = expr(e)
    pad = " " * offset
    moved = _later(line, e.span.line)  # the author put the expression below the head
    broken = _broken(e)
    if not moved:
        if not broken and _fits(f"{pad}{head} {flat}"):
            return [f"{head} {flat}"]
        if isinstance(e, ast.MatchExpr):
            return _match_lines(f"{head} ", e, HANG)
        if isinstance(e, ast.Call) and _callable_break(e) and (broken or not _fits(pad + INDENT + flat)):
            return _call_lines(f"{head} ", e, HANG)
        if not (_is_chain(e) or isinstance(e, ast.IfExpr)) and not _fits(pad + INDENT + flat):
            return [f"{head} {flat}"]  # nothing to break it at: one long line
    return [head] + _below(e, INDENT)


def _callable_break(e: ast.Call) -> bool:
    return len(e.args) + len(_clauses(e)) > 1


def _below(e: ast.Expr, indent: str) -> list[str]:
    """An expression on lines of its own at `indent`, broken at its outermost construct if needed."""
    flat = expr(e)
    if not _broken(e) and _fits(indent + flat):
        return [indent + flat]
    if isinstance(e, ast.IfExpr):
        lines, cur, word = [], e, "if"
        while isinstance(cur, ast.IfExpr):
            one = f"{indent}{word} {expr(cur.cond)} then {expr(cur.then)}"
            if _fits(one):
                lines.append(one)
            else:
                lines += [f"{indent}{word} {expr(cur.cond)}", f"{indent}then {expr(cur.then)}"]
            cur, word = cur.otherwise, "else if"
        lines.append(f"{indent}else {expr(cur)}")
        return lines
    if _is_chain(e):
        ops, operands, p = _chain(e)
        pad = " " * (len(ops[0]) + 1)
        return [f"{indent}{pad}{_operand(operands[0], p, True)}"] + [f"{indent}{op} {_operand(o, p, False)}"
                                                                    for op, o in zip(ops, operands[1:])]
    if isinstance(e, ast.MatchExpr):
        return _match_lines(indent, e, indent + INDENT)
    if isinstance(e, ast.Call) and _callable_break(e):
        return _call_lines(indent, e, indent + INDENT)
    return [indent + flat]


def _match_lines(prefix: str, m: ast.MatchExpr, hang: str) -> list[str]:
    """`prefix match x {`, then the arms at `hang` — one a line, or as the author grouped them — and ` }`."""
    arms = [(" | ".join(_label(x) for x in a.labels) + f" -> {expr(a.value)}", a.span.line, a.span.end_line)
            for a in m.arms]
    if m.default is not None:
        arms.append((f"else -> {expr(m.default)}", m.default.span.line, m.default.span.end_line))
    groups: list[list[str]] = []
    previous_end = 0
    keep = _broken(m)  # the author's grouping of arms, if the author broke the match; else one arm a line
    for text, line, end in arms:
        if keep and groups and line and previous_end == line:
            groups[-1].append(text)
        else:
            groups.append([text])
        previous_end = end
    lines = [f"{prefix}match {expr(m.subject)} {{"]
    for g, group in enumerate(groups):
        last_group = g == len(groups) - 1
        lines.extend(_fill(group, hang, ","))
        if not last_group:
            lines[-1] += ","
    lines[-1] += " }"
    return lines


def _arguments(e: ast.Call) -> list[str]:
    """The arguments of a call as text, the first with the element's name (`薪级表 as 行`)."""
    parts = [expr(a) for a in e.args]
    if e.alias is not None and parts:
        parts[0] += f" as {e.alias}"
    return parts


def _call_lines(prefix: str, e: ast.Call, hang: str) -> list[str]:
    """`prefix f(first,` then each further argument (and `where …`) on a line at `hang`, `)` at the end."""
    parts = _arguments(e)
    lines = [f"{prefix}{e.func}({parts[0]}" if parts else f"{prefix}{e.func}("]
    for a in parts[1:]:
        lines[-1] += ","
        lines.append(hang + a)
    lines.extend(hang + clause for clause in _clauses(e))
    lines[-1] += ")"
    return lines


def _clauses(e: ast.Call) -> list[str]:
    """The clauses of a call in canonical order: where, by, within, then ties / method / rounding as written."""
    out = []
    if e.where is not None:
        out.append(f"where {expr(e.where)}")
    if e.order:
        out.append("by " + ", ".join(expr(k.expr) + (" desc" if k.descending else "") for k in e.order))
    if e.within is not None:
        out.append(f"within {expr(e.within)}")
    out.extend(f"{kind} {word}" for kind, word in e.options)
    return out


# ------------------------------------------------------------------------------------------------ expressions

def expr(e: ast.Expr, context: int = 0) -> str:
    """An expression on one line, parenthesised only where the surrounding operator binds tighter."""
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
        return f"{_operand(e.left, p, True)} {e.op} {_operand(e.right, p, False)}", p
    if isinstance(e, ast.IfExpr):
        return f"if {expr(e.cond)} then {expr(e.then)} else {expr(e.otherwise)}", 0
    if isinstance(e, ast.MatchExpr):
        arms = [" | ".join(_label(label) for label in a.labels) + f" -> {expr(a.value)}" for a in e.arms]
        if e.default is not None:
            arms.append(f"else -> {expr(e.default)}")
        return f"match {expr(e.subject)} {{ {', '.join(arms)} }}", 9
    if isinstance(e, ast.Call):
        inside = ", ".join(_arguments(e))
        clauses = " ".join(_clauses(e))
        return f"{e.func}({inside}{' ' if inside and clauses else ''}{clauses})", 9
    if isinstance(e, ast.ListLit):
        items = ", ".join(expr(i) for i in e.items)
        if e.items and all(isinstance(i, ast.RecordLit) for i in e.items):  # [ { … }, { … } ], as drafters write
            return f"[ {items} ]", 9
        return f"[{items}]", 9
    if isinstance(e, ast.RecordLit):
        if not e.fields:
            return "{ }", 9
        return "{ " + ", ".join(f"{f.name}: {expr(f.value)}" for f in e.fields) + " }", 9
    raise TypeError(f"cannot format {type(e).__name__}")


def _operand(o: ast.Expr, p: int, first: bool) -> str:
    """An operand of a left-associative operator of strength p; an `and` inside an `or` is always
    parenthesised, for the reader."""
    if p == 1 and isinstance(o, ast.Binary) and o.op == "and":
        return expr(o, 3)
    return expr(o, p if first else p + 1)


def _literal(e: ast.Literal) -> str:
    if e.kind == "text":
        return quote(e.value)
    if e.kind == "bool":
        return "true" if e.value else "false"
    if e.kind == "date":
        return e.value.isoformat()
    return e.text  # numbers, percentages, money and durations keep the form the drafter chose
