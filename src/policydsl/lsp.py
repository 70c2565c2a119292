"""`policydsl lsp` — a language server (pygls) for editors: diagnostics as you type, go-to-definition, hover.

- **diagnostics**: on open and on every change the in-memory text is parsed and checked (imports and `extends`
  resolved relative to the document's path, read from disk), with the static-analysis warnings of `check`.
  Problems inside an imported file are shown on the `import`/`extends` line that brought it in, naming the file.
- **definition**: the name under the cursor (param, fact, outcome, table, eligibility, summary, list, record, enum,
  field of the subject or of a related record, enum label) → where it is declared, in this file or an imported one.
- **hover**: a fact's (or param's, field's) type, its `source` citation and any `assumed` reason.

While the text does not parse, definition and hover use the last version that did.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from urllib.parse import unquote, urlparse

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from . import ast, ir
from .api import check_policy
from .diagnostics import Diagnostic, SourceCache, Span

NAME = re.compile(r"[^\W\d]\w*")


@dataclass
class Checked:
    """One check of a document: its diagnostics, the parsed modules (this file and its imports), the policy."""

    path: str
    diagnostics: list[Diagnostic]
    modules: dict[str, ast.Module]
    policy: ir.Policy | None
    sources: SourceCache


def check_text(path: str, text: str) -> Checked:
    """Check a document's text as if it were saved at `path` (its imports are read from disk)."""
    key = os.path.normpath(path)
    policy, found, loader = check_policy(key, texts={key: text})  # the editor's text, not the file on disk
    return Checked(key, found, loader.modules, policy, loader.sources)


def import_anchor(checked: Checked, file: str) -> Span | None:
    """The `import`/`extends` line of the document through which `file` was loaded (the direct one if any)."""
    module = checked.modules.get(checked.path)
    links = [d for d in (module.decls if module else ()) if isinstance(d, (ast.Import, ast.Extends))]
    here = os.path.dirname(checked.path)
    direct = [d for d in links if os.path.normpath(os.path.join(here, d.path)) == os.path.normpath(file)]
    chosen = (direct or links or [None])[0]
    return chosen.span if chosen is not None else None


def to_lsp(d: Diagnostic, path: str, anchor: Span | None = None) -> lsp.Diagnostic:
    severity = {"error": lsp.DiagnosticSeverity.Error, "warning": lsp.DiagnosticSeverity.Warning,
                "note": lsp.DiagnosticSeverity.Information}[d.severity]
    message = d.message + (f"\nhint: {d.hint}" if d.hint else "")
    if os.path.normpath(d.span.file) != path:  # shown on the import line that brought the other file in
        where = span_range(anchor) if anchor else lsp.Range(lsp.Position(0, 0), lsp.Position(0, 1))
        return lsp.Diagnostic(range=where, severity=severity, source="policydsl", message=f"{d.span}: {message}")
    return lsp.Diagnostic(range=span_range(d.span), severity=severity, source="policydsl", message=message,
                          related_information=[
                              lsp.DiagnosticRelatedInformation(lsp.Location(path_uri(s.file), span_range(s)), note)
                              for s, note in d.related] or None)


def span_range(span: Span) -> lsp.Range:
    line = max(span.line - 1, 0)
    end_line = max(span.end_line - 1, line)
    end_col = span.end_col - 1 if span.end_line > 0 else span.col
    return lsp.Range(lsp.Position(line, max(span.col - 1, 0)), lsp.Position(end_line, max(end_col, 0)))


def uri_path(uri: str) -> str:
    return os.path.normpath(unquote(urlparse(uri).path))


def path_uri(path: str) -> str:
    from pathlib import Path
    return Path(os.path.abspath(path)).as_uri()


# ------------------------------------------------------------------------------------------------ declarations

def declarations(checked: Checked) -> dict[str, list[tuple[Span, str]]]:
    """name → [(span of the declaring name, what it is)], over the document and everything it imports."""
    out: dict[str, list[tuple[Span, str]]] = {}

    def add(name: str, span: Span, what: str) -> None:
        out.setdefault(name, []).append((_name_span(checked.sources, span, name), what))

    def add_labels(labels, owner: str) -> None:
        for label in labels:
            add(label.name, label.span, f"label of {owner}")

    def add_fields(fields, owner: str) -> None:
        for f in fields:
            add(f.name, f.span, f"field of {owner}")
            if isinstance(f.type, ast.InlineEnum):
                if f.type.name:
                    add(f.type.name, f.type.span, "enum")
                add_labels(f.type.labels, f.type.name or f.name)

    order = [checked.path] + [k for k in checked.modules if k != checked.path]
    for key in order:
        module = checked.modules.get(key)
        if module is None:
            continue
        for decl in module.decls:
            name = getattr(decl, "name", None)
            if isinstance(decl, ast.EnumDecl):
                add(decl.name, decl.span, "enum")
                add_labels(decl.labels, decl.name)
            elif isinstance(decl, ast.RecordDecl):
                add(decl.name, decl.span, "record")
                add_fields(decl.fields, decl.name)
            elif isinstance(decl, ast.ListDecl):
                add(decl.name, decl.span, "list")
                add_fields(decl.fields, decl.name)
            elif isinstance(decl, ast.ParamDecl):
                add(decl.name, decl.span, "param")
            elif isinstance(decl, (ast.ValueDecl, ast.TableDecl, ast.EligibilityDecl, ast.SummaryDecl)):
                add(name, decl.span, _kind_word(decl))
    return out


def _kind_word(decl: ast.Decl) -> str:
    if isinstance(decl, ast.ValueDecl):
        return "outcome" if decl.is_outcome else "fact"
    if isinstance(decl, ast.TableDecl):
        return "outcome table" if decl.is_outcome else "table"
    if isinstance(decl, ast.EligibilityDecl):
        return "outcome eligibility" if decl.is_outcome else "eligibility"
    return "summary"


def _name_span(sources: SourceCache, span: Span, name: str) -> Span:
    """The span of `name` itself inside a declaration (first occurrence from the declaration's start)."""
    line = sources.line(span.file, span.line)
    if line is not None:
        at = line.find(name, max(span.col - 1, 0))
        if at >= 0:
            return Span(span.file, span.line, at + 1, span.line, at + 1 + len(name))
    return span


def word_at(text: str, line: int, character: int) -> str | None:
    lines = text.splitlines()
    if not 0 <= line < len(lines):
        return None
    for m in NAME.finditer(lines[line]):
        if m.start() <= character <= m.end():
            return m.group()
    return None


def definition(checked: Checked, name: str) -> list[lsp.Location]:
    found = declarations(checked).get(name, [])
    # a name declared here and in an import (an override) goes to this file's declaration first
    return [lsp.Location(path_uri(span.file), span_range(span)) for span, _ in found]


def hover_text(checked: Checked, name: str) -> str | None:
    """What the editor shows over a name: its kind, type and notes, then its labels from the glossary."""
    text = _declaration_hover(checked, name)
    policy = checked.policy
    if policy is None:
        return text
    if text is None and name in policy.documents:
        return _document_hover(policy.documents[name])
    labels = _labels_line(policy, name)
    return f"{text}\n\n{labels}" if text is not None and labels else text


def _labels_line(policy, name: str) -> str | None:
    """`年龄 / age · unit 岁 / years · actionable`: what the glossary says of `name` (via `naming`)."""
    from . import naming
    if name not in policy.glossary:
        return None
    parts = [f"{naming.label(policy, name, 'zh')} / {naming.label(policy, name, 'en')}"]
    unit_zh, unit_en = naming.unit(policy, name, 1, "zh"), naming.unit(policy, name, 2, "en")
    if unit_zh or unit_en:
        parts.append(f"unit {unit_zh} / {unit_en}")
    if naming.actionable(policy, name):
        parts.append("actionable")
    better = naming.favourable(policy, name)
    if better is not None:
        parts.append(f"better {better.direction or better.value}")
    if policy.glossary[name].serious:  # the language's own reader: whether the entry says `serious` at all
        parts.append("serious")
    return " · ".join(parts)


def _document_hover(doc) -> str:
    lines = [f"**document** `{doc.name}`: 《{doc.title}》" + (f" — “{doc.en}”" if doc.en else "")]
    lines += [x for x in (doc.issuer, doc.date and doc.date.isoformat(), doc.number, doc.url) if x]
    return "\n\n".join(lines + [f"{doc.span}"])


def _declaration_hover(checked: Checked, name: str) -> str | None:
    policy = checked.policy
    if policy is not None:
        if name in policy.nodes:
            node = policy.nodes[name]
            word = {"fact": "outcome" if node.is_outcome else "fact", "table": "table",
                    "eligibility": "eligibility"}[node.kind]
            if node.kind != "fact" and node.is_outcome:
                word = f"outcome {word}"
            return _with_notes(f"**{word}** `{name}`: `{node.type}`", node.notes, node.span)
        if name in policy.params:
            param = policy.params[name]
            lines = [f"**param** `{name}`: `{param.type}`"]
            for v in param.values:
                when = f"from {v.start}: " if v.start else ""
                lines.append(f"- {when}{v.value}" + _notes_suffix(v.notes))
            return "\n".join(lines) + f"\n\n{param.span}"
        ftype = policy.subject.field(name)
        if ftype is not None:
            return f"**field** of `{policy.subject.name}`: `{name}`: `{ftype}`"
        if name in policy.summaries:
            s = policy.summaries[name]
            return _with_notes(f"**summary** `{name}`: `{s.type}`", s.notes, s.span)
        if name in policy.records:
            return f"**record** `{name}`"
        if name in policy.enums:
            t = policy.enums[name]
            return f"**enum** `{name}`: " + ", ".join(getattr(t, "labels", ()))
    found = declarations(checked).get(name)
    if found:
        span, what = found[0]
        return f"**{what}** `{name}`\n\n{span}"
    return None


def _notes_suffix(notes) -> str:
    parts = [f"source: {s}" for s in notes.sources]
    if notes.assumed:
        parts.append(f"assumed: {notes.assumed.text}")
    return (" — " + "; ".join(parts)) if parts else ""


def _with_notes(head: str, notes, span: Span) -> str:
    lines = [head]
    for c in notes.citations:
        if c.kind == "source":  # a cited document by its name, then the clause
            lines.append(f"source: {c.document} {c.text}".rstrip() if c.document else f"source: {c.text}")
    if notes.assumed:
        lines.append(f"assumed: {notes.assumed.text}")
    lines.append(f"{span}")
    return "\n\n".join(lines)


# ------------------------------------------------------------------------------------------------ the server

class PolicyServer(LanguageServer):
    def __init__(self) -> None:
        try:
            ver = version("policydsl")
        except PackageNotFoundError:
            ver = "0"
        super().__init__("policydsl", ver)
        self.checked: dict[str, Checked] = {}   # uri → latest check
        self.good: dict[str, Checked] = {}      # uri → latest check whose text parsed

    def refresh(self, uri: str) -> None:
        doc = self.workspace.get_text_document(uri)
        checked = check_text(uri_path(uri), doc.source)
        self.checked[uri] = checked
        if checked.path in checked.modules:
            self.good[uri] = checked
        self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(
            uri=uri, version=doc.version, diagnostics=[to_lsp(d, checked.path, import_anchor(checked, d.span.file))
                                                for d in checked.diagnostics]))

    def best(self, uri: str) -> Checked | None:
        return self.good.get(uri) or self.checked.get(uri)


server = PolicyServer()


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
def _did_open(ls: PolicyServer, params: lsp.DidOpenTextDocumentParams) -> None:
    ls.refresh(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
def _did_change(ls: PolicyServer, params: lsp.DidChangeTextDocumentParams) -> None:
    ls.refresh(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
def _did_save(ls: PolicyServer, params: lsp.DidSaveTextDocumentParams) -> None:
    ls.refresh(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
def _did_close(ls: PolicyServer, params: lsp.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    ls.checked.pop(uri, None)
    ls.good.pop(uri, None)
    ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


def _name_at_cursor(ls: PolicyServer, params) -> tuple[Checked | None, str | None]:
    """The document's latest good check and the name under the cursor (either may be None)."""
    uri = params.text_document.uri
    checked = ls.best(uri)
    if checked is None:
        return None, None
    doc = ls.workspace.get_text_document(uri)
    return checked, word_at(doc.source, params.position.line, params.position.character)


@server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
def _definition(ls: PolicyServer, params: lsp.DefinitionParams):
    checked, name = _name_at_cursor(ls, params)
    if checked is None:
        return None
    return definition(checked, name) or None if name else None


@server.feature(lsp.TEXT_DOCUMENT_HOVER)
def _hover(ls: PolicyServer, params: lsp.HoverParams):
    checked, name = _name_at_cursor(ls, params)
    if checked is None:
        return None
    text = hover_text(checked, name) if name else None
    if text is None:
        return None
    return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=text))


#: The largest message the server reads (a 1 MB policy, JSON-escaped, fits several times over).
MAX_MESSAGE_BYTES = 8_000_000
_LENGTH = re.compile(rb"Content-Length: *(\S*)\r?\n?$", re.IGNORECASE)


class FramedInput:
    """stdin for pygls with only well-framed messages in it.

    pygls reads `Content-Length` and then exactly that many bytes; a header of -5, "abc" or 99999999999 made it
    wait forever, lose the next messages, or ask for 100 GB. Here each frame is checked first: a bad one is
    skipped (up to the next `Content-Length` header) with a line on stderr, and the server keeps serving.
    """

    def __init__(self, raw, complain=None):
        self.raw = raw
        self.buffer = b""
        self.complain = complain or (lambda message: print(f"policydsl lsp: {message}", file=sys.stderr, flush=True))

    def readline(self) -> bytes:
        """A header line of the next good frame (b"" at the end of input)."""
        if not self.buffer:
            self.buffer = self._next_frame()
        end = self.buffer.find(b"\n") + 1 or len(self.buffer)
        line, self.buffer = self.buffer[:end], self.buffer[end:]
        return line

    def read(self, n: int) -> bytes:
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def _next_frame(self) -> bytes:
        """Headers and body of the next message whose length is a number within the limit."""
        pending = None
        while True:
            line = self.raw.readline(65536)
            if not line:
                return b""
            at = line.find(b"Content-Length")
            if at > 0 and pending is None:  # garbage (a skipped body) runs into the next header
                line = line[at:]
            match = _LENGTH.match(line)
            if match:
                value = match.group(1)
                pending = int(value) if value.isdigit() and 0 < int(value) <= MAX_MESSAGE_BYTES else -1
                if pending < 0:
                    self.complain(f"skipped a message with a bad Content-Length {value[:20]!r} "
                                  f"(a number of bytes up to {MAX_MESSAGE_BYTES:,})")
                continue
            if line.strip() or pending is None:
                continue  # other headers (Content-Type), or bytes of a skipped message
            if pending < 0:
                pending = None
                continue
            body = self.raw.read(pending)
            return f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def serve() -> None:
    """Run the server over stdin/stdout until the client says exit."""
    server.start_io(stdin=FramedInput(sys.stdin.buffer))
