"""Stage 1 — syntax: policy text → AST, or diagnostics.

The grammar lives in `grammar/policydsl.lark` (shipped inside the package as `policydsl/grammar/`); lark's LALR
parser with the contextual lexer reads it, and `_Builder` turns the parse tree into frozen `ast` nodes with spans.
Parse errors become one diagnostic in words ("expected a name or a number"), never a lark exception.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from . import ast
from .diagnostics import Diagnostic, Span, closest
from .limits import MAX_LITERAL_DIGITS, MAX_NAME_CHARS, MAX_NESTING, nesting_message
from .surface import KEYWORDS, english_function, english_name, english_option, english_round_mode, english_word

DURATION_UNITS = {"年": "year", "个月": "month", "月": "month", "季度": "quarter", "周": "week", "天": "day", "日": "day"}
MONEY_SCALE = {"元": Decimal(1), "万元": Decimal(10000)}


def grammar_text() -> str:
    """The grammar, from the installed package or, in a source checkout, from `grammar/`."""
    packaged = resources.files("policydsl").joinpath("grammar/policydsl.lark")
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return (Path(__file__).resolve().parents[2] / "grammar" / "policydsl.lark").read_text(encoding="utf-8")


PARSER_OPTIONS = {"parser": "lalr", "lexer": "contextual", "propagate_positions": True, "maybe_placeholders": True}


@functools.cache
def parser() -> Lark:
    """The LALR parser, built once per process — or, faster, loaded from the cache `parser_cache_file()` names.

    Building the parse tables takes about a quarter of a second; loading them ~15 ms. The cache file's name holds a
    hash of the grammar, the options and the lark and Python versions, so a stale file is never used; a cache that
    cannot be read or written (read-only home, no home) is silently done without.
    """
    text = grammar_text()
    cache = parser_cache_file(text)
    if cache is not None:
        try:
            with open(cache, "rb") as f:
                return Lark.load(f)
        except Exception:  # noqa: BLE001 — missing, half-written or unreadable: build it again
            pass
    built = Lark(text, **PARSER_OPTIONS)
    if cache is not None:
        _save_parser(built, cache)
    return built


def parser_cache_file(text: str | None = None) -> Path | None:
    """Where the parse tables are cached: $XDG_CACHE_HOME/policydsl/ (default ~/.cache/policydsl/); None if no
    cache directory can be named."""
    import hashlib
    import os
    import sys

    import lark
    root = os.environ.get("XDG_CACHE_HOME") or (os.path.join(os.path.expanduser("~"), ".cache")
                                                if os.path.expanduser("~") != "~" else None)
    if not root:
        return None
    key = repr((text if text is not None else grammar_text(), sorted(PARSER_OPTIONS.items()), lark.__version__,
                sys.version_info[:2]))
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]
    return Path(root) / "policydsl" / f"parser-{digest}.lark"


def _save_parser(built: Lark, cache: Path) -> None:
    """Write the cache atomically (a reader never sees half a file); any OS error just means no cache."""
    import os
    partial = cache.with_name(f".{cache.name}.{os.getpid()}.partial")
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        with open(partial, "wb") as f:
            built.save(f)
        os.replace(partial, cache)
    except OSError:
        try:
            partial.unlink(missing_ok=True)
        except OSError:
            pass


class SyntaxFailure(Exception):
    """Raised by `parse_module` with the diagnostics of a file that does not parse."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics
        super().__init__("; ".join(d.message for d in diagnostics))


MAX_SYNTAX_ERRORS = 20


def parse_module(text: str, path: str = "<text>") -> ast.Module:
    """Parse one file's text into a Module; raises SyntaxFailure with diagnostics on any error.

    After a syntax error the parser starts again at the next declaration (a line that begins with a declaration
    keyword), so one run reports the mistakes of every declaration, each once (at most MAX_SYNTAX_ERRORS)."""
    text = text.removeprefix("\ufeff")  # an editor's UTF-8 byte order mark: invisible, and not part of the text
    try:
        tree = parser().parse(text)
    except UnexpectedInput as exc:
        raise SyntaxFailure(_all_syntax_errors(text, path, exc)) from None
    refused = _nesting_diagnostics(tree, path) or _literal_problems(tree, path)
    if refused:
        raise SyntaxFailure(refused)
    builder = _Builder(path)
    try:
        module = builder.transform(tree)
    except VisitError as exc:  # a literal the grammar accepts but that has no meaning, e.g. 2024-02-30
        if isinstance(exc.orig_exc, _LiteralError):
            raise SyntaxFailure([exc.orig_exc.diagnostic]) from None
        raise
    return module


def _all_syntax_errors(text: str, path: str, first: UnexpectedInput) -> list[Diagnostic]:
    """The first error, then those of the later declarations: the failing declaration is blanked out (its lines
    kept empty, so positions stay true) and the rest parsed again."""
    found = [_parse_diagnostic(first, text, path)]
    lines = text.split("\n")
    error_line = found[0].span.line
    while len(found) < MAX_SYNTAX_ERRORS:
        start = _declaration_start(lines, error_line)
        end = _next_declaration(lines, error_line)
        if end is None:
            break
        lines[start - 1:end - 1] = [""] * (end - start)
        try:
            parser().parse("\n".join(lines))
            break
        except UnexpectedInput as exc:
            diagnostic = _parse_diagnostic(exc, "\n".join(lines), path)
            if diagnostic.span.line <= error_line:  # no progress: stop rather than report the same place again
                break
            found.append(diagnostic)
            error_line = diagnostic.span.line
    return found


_DECLARATION_START = re.compile(
    r"^(?:override |覆盖 )?(?:outcome |结果 )?(?:policy|import|extends|enum|record|list|param|fact|outcome|table|"
    r"eligibility|summary|example|glossary|document|recourse|政策|导入|继承|枚举|记录|清单|参数|事实|结果|表|资格|汇总|示例|"
    r"术语|文件|救济)(?=[\s(（])")


_DECLARATION_WORD = re.compile(_DECLARATION_START.pattern.removeprefix("^").removesuffix(r"(?=[\s(（])"))


def _declaration_start(lines: list[str], line: int) -> int:
    """The line (1-based) where the declaration holding `line` begins."""
    for number in range(min(line, len(lines)), 0, -1):
        if _DECLARATION_START.match(lines[number - 1]):
            return number
    return 1


def _next_declaration(lines: list[str], line: int) -> int | None:
    """The first line after `line` that begins a declaration, or None."""
    for number in range(line + 1, len(lines) + 1):
        if _DECLARATION_START.match(lines[number - 1]):
            return number
    return None


def _nesting_diagnostics(tree, path: str, limit: int = MAX_NESTING) -> list[Diagnostic]:
    """One diagnostic per declaration whose parse tree is nested deeper than `limit` (found without recursion).

    Every later stage walks expressions recursively; refusing deep ones here, in words, is what keeps them within
    Python's stack without raising its recursion limit. A declaration itself takes a few levels, so `limit`
    counts from the declaration's own tree.
    """
    found = []
    for decl in tree.children:
        if not isinstance(decl, Tree):
            continue
        stack = [(decl, 0)]
        while stack:
            node, depth = stack.pop()
            if depth > limit:
                meta = node.meta if not getattr(node.meta, "empty", True) else decl.meta
                message, hint = nesting_message(limit)
                found.append(Diagnostic(Span(path, meta.line, meta.column, meta.line, meta.column + 1), message,
                                        hint))
                break
            stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))
    return found


def _literal_problems(tree, path: str) -> list[Diagnostic]:
    """Numbers beyond the exact range and over-long names, found in the tokens before the tree is built."""
    found = []
    for token in tree.scan_values(lambda v: isinstance(v, Token) and v.type in ("NUMBER", "NAME")):
        span = Span(path, token.line, token.column, token.line, token.column + min(len(token), 40))
        if token.type == "NUMBER" and len(token.replace(".", "").lstrip("0")) > MAX_LITERAL_DIGITS:
            found.append(Diagnostic(span, f"a number with more than {MAX_LITERAL_DIGITS} digits is beyond the exact "
                                          "range of policydsl", "use a smaller unit or a smaller figure"))
        elif token.type == "NAME" and len(token) > MAX_NAME_CHARS:
            found.append(Diagnostic(span, f"a name of {len(token):,} characters is longer than the limit of "
                                          f"{MAX_NAME_CHARS}", "use a shorter name"))
    return found


def parse_comments(text: str) -> list[tuple[int, str]]:
    """(line, comment) for every `#` comment outside a quoted text, for the formatter to keep."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        in_string = escaped = False
        for i, ch in enumerate(line):
            if in_string:
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif ch == '"':
                    in_string = False
            elif ch == '"':
                in_string = True
            elif ch == "#":
                found.append((number, line[i:].rstrip()))
                break
    return found


# ------------------------------------------------------------------------------------------------ errors in words

_WORDS = {
    "NAME": "a name", "STRING": "a quoted text", "NUMBER": "a number", "DATE": "a date (YYYY-MM-DD)",
    "PERCENT": "a percentage", "COMP_OP": "a comparison (== != < <= > >=)", "ADD_OP": "'+' or '-'",
    "MUL_OP": "'*' or '/'", "_COLON": "':'", "_COMMA": "','", "_LPAR": "'('", "_RPAR": "')'", "$END": "the end of the file",
}
_DECL_KEYWORDS = {"POLICY", "IMPORT", "EXTENDS", "ENUM", "RECORD", "LIST", "PARAM", "FACT", "OUTCOME", "TABLE",
                  "ELIGIBILITY", "SUMMARY", "EXAMPLE", "OVERRIDE", "GLOSSARY", "DOCUMENT", "RECOURSE"}


def _canonical(expected: set[str]) -> set[str]:
    """Expected terminals with each Chinese keyword under its English one's name (否则 → ELSE), so that hints and
    descriptions speak of one keyword once."""
    out = set()
    for terminal in expected:
        try:
            pattern = parser().get_terminal(terminal).pattern
        except KeyError:
            out.add(terminal)
            continue
        word = english_word(pattern.value) if pattern.type == "str" else None
        out.add(word.upper() if word is not None and word != pattern.value else terminal)
    return out


def _describe(terminal: str) -> str:
    if terminal in _WORDS:
        return _WORDS[terminal]
    try:
        pattern = parser().get_terminal(terminal).pattern
    except KeyError:
        return terminal.lower()
    if pattern.type == "str":
        chinese = KEYWORDS.get(pattern.value)
        return f"'{pattern.value}'" + (f" ({chinese})" if chinese else "")
    return terminal.lower()


def describe_expected(expected: set[str]) -> str:
    """'a name, a number or ...' — the expected terminals in words, declarations summarised."""
    names = _canonical(set(expected))
    words = []
    if len(names & _DECL_KEYWORDS) >= 5:
        names -= _DECL_KEYWORDS
        words.append("a declaration (policy, record, param, fact, outcome, table, …)")
    value_starts = {"NAME", "NUMBER", "STRING", "DATE", "PERCENT", "LSQB", "LBRACE", "MINUS", "MATCH", "TRUE",
                    "FALSE", "_LPAR", "IF", "NOT"}
    if {"NAME", "NUMBER", "STRING"} <= names:  # an expression may start here: say so instead of listing 14 tokens
        names -= value_starts
        words.append("a value (a name, number, text, date, '(' …)")
    described = {_describe(t) for t in names}
    words.extend(sorted(described, key=lambda w: (not w.startswith("a "), w)))  # "a name", "a number" first
    if not words:
        return "something else"
    if len(words) > 8:
        words = words[:8] + ["…"]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _parse_diagnostic(exc: UnexpectedInput, text: str, path: str) -> Diagnostic:
    lines = text.splitlines() or [""]
    if isinstance(exc, UnexpectedCharacters):
        line, col = exc.line, exc.column
        ch = text[exc.pos_in_stream] if exc.pos_in_stream < len(text) else ""
        span = Span(path, line, col, line, col + 1)
        if ch == '"':
            return Diagnostic(span, "unterminated text", "a quoted text must end with \" on the same line")
        hint = None
        if not ch.isprintable() or unicodedata.category(ch) == "Cf":  # NUL, a control or an invisible character
            return Diagnostic(span, f"unexpected invisible character U+{ord(ch):04X}",
                              "delete it (it may come from copying text out of another program)")
        if ch in "；;":
            hint = "no ';' is needed: declarations and rows are separated by line breaks"
        elif ch == "=":
            hint = "to compare, write '=='"
        elif exc.allowed:
            hint = "expected " + describe_expected(set(exc.allowed))
        return Diagnostic(span, f"unexpected character '{ch}'", hint)
    if isinstance(exc, UnexpectedEOF):
        span = _end_of_code(lines, path)
        return Diagnostic(span, "the file ends in the middle of a declaration",
                          "expected " + describe_expected(set(exc.expected)) + " — is a '}' or a value missing?")
    assert isinstance(exc, UnexpectedToken)
    token = exc.token
    expected = set(exc.expected)
    if token.type == "$END":
        span = _end_of_code(lines, path)
        return Diagnostic(span, "the file ends in the middle of a declaration",
                          "expected " + describe_expected(expected) + " — is a '}' or a value missing?")
    early = _ended_early(lines, token, path)
    if early is not None:
        return early
    span = Span(path, token.line, token.column, token.end_line or token.line,
                token.end_column or token.column + len(str(token)))
    unknown = _unknown_clause(token, expected, lines, span)
    if unknown is not None:
        return unknown
    glued = _glued_keyword(lines[token.line - 1][:token.column - 1] if token.line <= len(lines) else "")
    if glued is not None:
        word, keyword = glued
        return Diagnostic(span, f"unexpected {_token_words(token)}",
                          f"'{word}' is read as one name; if it is {keyword} followed by {word[len(keyword):]}, "
                          f"put a space after {keyword}: a Chinese keyword is a word of its own")
    line = lines[token.line - 1] if token.line <= len(lines) else ""
    return Diagnostic(span, f"unexpected {_token_words(token)}", _hint_for(token, expected, line))


#: the clauses of the blocks of names, documents and recourse (English words; each has its Chinese form)
_BLOCK_CLAUSES = {
    "a recourse block": ("office", "review", "appeal", "contact", "assumed"),
    "a document": ("en", "issuer", "date", "published", "number", "url", "assumed"),
    "a glossary entry": ("zh", "en", "unit", "actionable", "better", "serious"),
}


def _unknown_clause(token: Token, expected: set[str], lines: list[str], span: Span) -> Diagnostic | None:
    """A misspelt clause word in a recourse block, a document or a glossary entry, with did-you-mean.

    In a glossary a misspelt word reads as the next entry's name, so the error comes at the text after it: the
    word before the error is then the clause meant."""
    names = _canonical(expected)
    for block, words in _BLOCK_CLAUSES.items():
        if block == "a glossary entry":
            if names - {"_COLON", "DOT"} or token.type != "STRING":
                continue
            before = re.findall(r"[^\W\d]\w*", lines[token.line - 1][:token.column - 1] if token.line <= len(lines)
                                else "")
            word = before[-1] if before else ""
            col = lines[token.line - 1].rfind(word, 0, token.column - 1) + 1 if word else span.col
            where = Span(span.file, token.line, col, token.line, col + len(word))
        elif token.type == "NAME" and {w.upper() for w in words[:4]} <= names:
            word, where = str(token), span
        else:
            continue
        near = closest(word, list(words) + [KEYWORDS[w] for w in words if w in KEYWORDS])
        if near is None and block == "a glossary entry":
            return None
        listed = ", ".join(f"{w} ({KEYWORDS[w]})" if w in KEYWORDS else w for w in words)
        return Diagnostic(where, f"unknown clause '{word}' in {block}",
                          f"did you mean '{near}'?" if near else f"the clauses are {listed}")
    return None


def _ended_early(lines: list[str], token: Token, path: str) -> Diagnostic | None:
    """A declaration keyword at the start of a line read as a name (`a +` then `fact y = …`): the declaration
    before it is unfinished. Said at the end of that declaration's last line, not at the next one."""
    line = lines[token.line - 1] if token.line <= len(lines) else ""
    head = line[:token.column - 1].strip() if token.column > 1 else str(token)
    if token.column > 1 and not (head and line.startswith(head)):
        return None
    if not _DECLARATION_WORD.fullmatch(head):
        return None
    previous = token.line - 1
    while previous >= 1 and not lines[previous - 1].split("#", 1)[0].strip():
        previous -= 1
    if previous < 1:
        return None
    code = lines[previous - 1].split("#", 1)[0].rstrip() if '"' not in lines[previous - 1] else lines[previous - 1].rstrip()
    span = Span(path, previous, len(code) + 1, previous, len(code) + 2)
    return Diagnostic(span, "this declaration ends in the middle of an expression",
                      f"a value or a closing bracket is missing here: line {token.line} already starts the next "
                      f"declaration ('{head}')")


_GLUING = ("不属于", "如果", "否则", "属于", "其中", "分组", "匹配", "则", "且", "或", "非", "当", "按")


def _glued_keyword(before: str) -> tuple[str, str] | None:
    """A name on the line before the error that starts with an expression keyword (`如果年龄`): the likely cause."""
    import re
    for word in reversed(re.findall(r"[^\W\d]\w*", before)):
        for keyword in _GLUING:
            if word.startswith(keyword) and len(word) > len(keyword):
                return word, keyword
    return None


def _end_of_code(lines: list[str], path: str) -> Span:
    """Just after the last code on the last line that has any (trailing comments and blank lines skipped)."""
    for number in range(len(lines), 0, -1):
        code = lines[number - 1].split("#", 1)[0].rstrip() if '"' not in lines[number - 1] else lines[number - 1].rstrip()
        if code:
            return Span(path, number, len(code) + 1, number, len(code) + 2)
    return Span(path, 1, 1, 1, 2)


def _token_words(token: Token) -> str:
    if token.type == "NAME":
        return f"name '{token}'"
    if token.type in ("NUMBER", "PERCENT", "DATE"):
        return f"{_WORDS[token.type].removeprefix('a ')} {token}"
    if token.type == "STRING":
        return f"text {token}"
    return f"'{token}'"


def _hint_for(token: Token, expected: set[str], line: str = "") -> str:
    text = str(token)
    expected = _canonical(expected)
    header = {"effective": "effective", "生效": "effective", "subject": "subject", "主体": "subject"}
    if text in header and expected & _DECL_KEYWORDS:
        return (f"'{text}' belongs to the policy header: write it on the lines right under 'policy NAME', before "
                "any import, extends or other declaration")
    before = line[:token.column - 1].rstrip()
    if before.endswith((",", "，")) and re.search(r"(?:\bwhere\b|其中)[^()（）]*$", before):
        return ("'where' comes last in an aggregate, after the value: count(X where CONDITION), "
                "sum(X, VALUE where CONDITION)")
    if expected == {"STRING"} and line.lstrip().startswith(("exception", "例外")):
        return 'an exception has a label in quotes: exception NAME "特别优秀" when CONDITION = VALUE'
    if token.type == "NAME" and re.match(rf"\s*{re.escape(text)}\s+(at|从|自)\s+\d{{4}}-", line):
        return (f"a value that changes on a date is written in its param: param {text}: TYPE {{ from 2025-01-01 = … }}"
                " — one 'from DATE = value' line for each date")
    if token.type == "COMP_OP" and "COMP_OP" not in expected:
        return "comparisons cannot be chained: write 'a < b and b < c'"
    if text == "=" and "COMP_OP" in expected:
        return "to compare, write '=='"
    if expected & {"WHEN", "OTHERWISE"} and not expected & _DECL_KEYWORDS:
        return "table rows start with 'when CONDITION -> VALUE' or 'otherwise -> VALUE'"
    if expected == {"ELSE"}:
        return "an if needs an else: 'if CONDITION then A else B'"
    if expected == {"THEN"}:
        return "write 'if CONDITION then A else B'"
    if "_COLON" in expected and token.type == "NAME":
        return "fields and conditions are written 'name: …'"
    if expected & _DECL_KEYWORDS and len(expected & _DECL_KEYWORDS) >= 5:
        keywords = [t.lower() for t in expected & _DECL_KEYWORDS]
        keywords += [KEYWORDS[k] for k in keywords if k in KEYWORDS]  # 事实 as well as fact
        if token.type == "NAME" and (near := closest(text, keywords)):
            return f"did you mean '{near}'? A declaration starts with a keyword such as fact or outcome"
        return "expected " + describe_expected(expected) + "; a declaration starts with a keyword such as fact or outcome"
    return "expected " + describe_expected(expected)


# ------------------------------------------------------------------------------------------------ tree → AST

class _LiteralError(Exception):
    def __init__(self, diagnostic: Diagnostic):
        self.diagnostic = diagnostic


@dataclass(frozen=True)
class _Clause:
    """A clause inside a call (`where …`, `within …`, `by …`, `ties …`), before it is sorted into `ast.Call`."""

    kind: str
    value: object
    span: Span


def _beyond_text(note: ast.Citation | None) -> ast.Citation | None:
    """A header's note where it says more than its text (a document, English), else None (the text is kept)."""
    return note if note is not None and (note.document is not None or note.en is not None) else None


def unescape(raw: str) -> str:
    """The value of a STRING token: quotes removed, backslash escapes resolved."""
    body = raw[1:-1]
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append({"n": "\n", "t": "\t"}.get(nxt, nxt))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _number(token: Token) -> int | Decimal:
    return Decimal(str(token)) if "." in token else int(token)


@v_args(meta=True)
class _Builder(Transformer):
    """Turns lark's tree into AST nodes; every node gets the span of its text."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def _span(self, meta) -> Span:
        if getattr(meta, "empty", True):
            return Span(self.path, 0, 0, 0, 0)
        return Span(self.path, meta.line, meta.column, meta.end_line, meta.end_column)

    def _tok_span(self, tok: Token) -> Span:
        return Span(self.path, tok.line, tok.column, tok.end_line or tok.line,
                    tok.end_column or tok.column + len(tok))

    # -- module and header
    def start(self, meta, children):
        return ast.Module(self.path, tuple(children))

    def policy_header(self, meta, children):
        name, title, title_en, *clauses = children
        fields = dict(clauses)
        source, assumed = fields.get("source"), fields.get("assumed")
        return ast.PolicyHeader(str(name), unescape(title) if title else None, fields.get("subject"),
                                source.text if source else None, fields.get("effective"),
                                assumed.text if assumed else None, self._span(meta),
                                unescape(title_en) if title_en else None, fields.get("languages", ()),
                                _beyond_text(source), _beyond_text(assumed))

    def subject_clause(self, meta, children):
        return ("subject", str(children[0]))

    def source_clause(self, meta, children):
        return ("source", self._citation(children, meta))

    def effective_clause(self, meta, children):
        return ("effective", self._date(children[0]))

    def header_assumed(self, meta, children):
        return ("assumed", self.assumed_note(meta, children))

    def languages_clause(self, meta, children):
        words = tuple(english_word(str(c.children[0])) for c in children)
        for i, word in enumerate(words):
            if word in words[:i]:
                raise _LiteralError(Diagnostic(self._span(meta), f"language '{word}' is written twice",
                                               "write each language once: languages zh en"))
        return ("languages", words)

    def _citation(self, children, meta) -> ast.Citation:
        """`source "free text" [en "…"]` or `source DOCUMENT ["clause"] [en "…"]`."""
        first, *rest = children
        en = unescape(rest[-1]) if rest and rest[-1] is not None else None
        if first.type == "STRING":
            return ast.Citation("source", unescape(first), self._span(meta), None, en)
        clause = rest[0] if len(rest) == 2 else None
        return ast.Citation("source", unescape(clause) if clause else "", self._span(meta), str(first), en)

    def import_decl(self, meta, children):
        return ast.Import(unescape(children[0]), self._span(meta))

    def extends_decl(self, meta, children):
        return ast.Extends(unescape(children[0]), self._span(meta))

    # -- schemas
    def label(self, meta, children):
        tok = children[0]
        text = unescape(tok) if tok.type == "STRING" else str(tok)
        return ast.Label(text, self._span(meta))

    def label_list(self, meta, children):
        return tuple(children)

    def enum_decl(self, meta, children):
        name, ordered, labels = children
        return ast.EnumDecl(str(name), ordered is not None, labels, self._span(meta))

    def key_clause(self, meta, children):
        return str(children[0])

    def field_decl(self, meta, children):
        name, optional, type_, bounds = children
        return ast.FieldDecl(str(name), type_, self._span(meta), optional is not None, bounds)

    def range_clause(self, meta, children):
        return tuple(children)

    def record_decl(self, meta, children):
        override, name, key, *fields = children
        return ast.RecordDecl(str(name), key, tuple(fields), self._span(meta), override is not None)

    def map_decl(self, meta, children):
        field, expr, *notes = children
        return ast.MapDecl(str(field), expr, self._notes(notes), self._span(meta))

    def list_decl(self, meta, children):
        name, path, key, *rest = children
        fields = tuple(c for c in rest if isinstance(c, ast.FieldDecl))
        notes = self._notes([c for c in rest if not isinstance(c, ast.FieldDecl)])
        return ast.ListDecl(str(name), unescape(path), key, fields, notes, self._span(meta))

    def named_type(self, meta, children):
        return ast.NamedType(str(children[0]), self._span(meta))

    def list_type(self, meta, children):
        return ast.ListType(str(children[0]), str(children[1]) if children[1] else None, self._span(meta))

    def inline_enum(self, meta, children):
        name, ordered, labels = children
        return ast.InlineEnum(str(name) if name else None, ordered is not None, labels, self._span(meta))

    # -- annotations
    def source_note(self, meta, children):
        return self._citation(children, meta)

    def assumed_note(self, meta, children):
        text, en = children
        return ast.Citation("assumed", unescape(text), self._span(meta), None, unescape(en) if en else None)

    # -- glossary, documents, recourse
    def glossary_decl(self, meta, children):
        return ast.GlossaryDecl(tuple(children), self._span(meta))

    def glossary_entry(self, meta, children):
        name, member, *clauses = children
        target = str(name) if member is None else f"{name}.{member.name}"
        fields = self._once(clauses, f"the glossary entry for '{target}'")
        unit = fields.pop("unit", None)
        if unit is not None:
            fields["unit_zh"], fields["unit_en"] = unit
        return ast.GlossaryEntry(target, span=self._span(meta), **fields)

    def _once(self, clauses, where: str) -> dict:
        """The clauses (word, value, span) of an entry or block as a dict; a clause written twice is an error."""
        found: dict = {}
        for word, value, span in clauses:
            if word in found:
                raise _LiteralError(Diagnostic(span, f"'{word}' is written twice in {where}",
                                               "write each clause once"))
            found[word] = value
        return found

    def term_zh(self, meta, children):
        return ("zh", unescape(children[0]), self._span(meta))

    def term_en(self, meta, children):
        return ("en", unescape(children[0]), self._span(meta))

    def term_unit(self, meta, children):
        zh, en = children
        return ("unit", (unescape(zh), unescape(en) if en else None), self._span(meta))

    def term_actionable(self, meta, children):
        return ("actionable", True, self._span(meta))

    def term_serious(self, meta, children):
        return ("serious", True, self._span(meta))

    def term_better(self, meta, children):
        value = children[0]
        span = self._span(meta)
        if isinstance(value, Tree):  # higher / lower
            better = ast.BetterClause(english_word(str(value.children[0])), None, span)
        elif isinstance(value, ast.Literal):
            better = ast.BetterClause(None, value.value, span)
        else:
            better = ast.BetterClause(None, value.name, span)
        return ("better", better, span)

    def document_decl(self, meta, children):
        name, title, *clauses = children
        attached: list = []
        for clause in clauses:  # an `en` right after `issuer` or `assumed` is theirs; any other the title's
            word, value, span = clause
            previous = attached[-1] if attached else None
            if word == "en" and previous is not None and previous[0] in ("issuer", "assumed") and previous[3] is None:
                attached[-1] = (*previous[:3], value)
                continue
            attached.append((word, value, span, None))
        fields = self._once([(w, (v, en), s) for w, v, s, en in attached], f"document {name}")
        issuer, issuer_en = fields.pop("issuer", (None, None))
        assumed, assumed_en = fields.pop("assumed", (None, None))
        note = None
        if assumed is not None:
            note = ast.Citation("assumed", assumed[0], assumed[1], None, assumed_en)
        plain = {word: value for word, (value, _) in fields.items()}
        return ast.DocumentDecl(str(name), unescape(title), plain.get("en"), issuer, issuer_en, plain.get("date"),
                                plain.get("published"), plain.get("number"), plain.get("url"), note,
                                self._span(meta), tuple((w, span) for w, _, span, _ in attached))

    def doc_en(self, meta, children):
        return ("en", unescape(children[0]), self._span(meta))

    def doc_issuer(self, meta, children):
        return ("issuer", unescape(children[0]), self._span(meta))

    def doc_date(self, meta, children):
        return ("date", self._date(children[0]), self._span(meta))

    def doc_published(self, meta, children):
        return ("published", unescape(children[0]), self._span(meta))

    def doc_number(self, meta, children):
        return ("number", unescape(children[0]), self._span(meta))

    def doc_url(self, meta, children):
        return ("url", unescape(children[0]), self._span(meta))

    def doc_assumed(self, meta, children):
        return ("assumed", (unescape(children[0]), self._span(meta)), self._span(meta))

    def recourse_decl(self, meta, children):
        fields = self._once(children, "the recourse block")
        office, office_en = fields.get("office", (None, None))
        contact, contact_en = fields.get("contact", (None, None))
        return ast.RecourseDecl(office, office_en, fields.get("review"), fields.get("appeal"), contact, contact_en,
                                fields.get("assumed"), self._span(meta), tuple((w, span) for w, _, span in children))

    def _texts(self, children) -> tuple[str, str | None]:
        return unescape(children[0]), unescape(children[1]) if children[1] else None

    def recourse_office(self, meta, children):
        return ("office", self._texts(children), self._span(meta))

    def recourse_contact(self, meta, children):
        return ("contact", self._texts(children), self._span(meta))

    def recourse_assumed(self, meta, children):
        return ("assumed", self.assumed_note(meta, children), self._span(meta))

    def recourse_review(self, meta, children):
        return ("review", self._step(meta, children), self._span(meta))

    def recourse_appeal(self, meta, children):
        return ("appeal", self._step(meta, children), self._span(meta))

    def _step(self, meta, children) -> ast.RecourseStepDecl:
        text, en = self._texts(children)
        return ast.RecourseStepDecl(text, en, children[2], self._span(meta))

    def deadline(self, meta, children):
        return self.duration(meta, children)

    def explain_note(self, meta, children):
        return ast.Explain(str(children[0]), unescape(children[1]), self._span(meta))

    @staticmethod
    def _notes(items) -> ast.Annotations:
        return ast.Annotations(tuple(i for i in items if isinstance(i, ast.Citation)),
                               tuple(i for i in items if isinstance(i, ast.Explain)))

    # -- parameters and rules
    def param_decl(self, meta, children):
        override, name, type_, body = children
        return ast.ParamDecl(str(name), type_, body, override is not None, self._span(meta))

    def single_value(self, meta, children):
        value, *notes = children
        return (ast.DatedValue(None, value, self._notes(notes), self._span(meta)),)

    def dated_values(self, meta, children):
        return tuple(children)

    def dated_value(self, meta, children):
        start, value, *notes = children
        return ast.DatedValue(self._date(start), value, self._notes(notes), self._span(meta))

    def value_kind(self, meta, children):
        return english_word(str(children[0]))

    def hit_policy(self, meta, children):
        return english_word(str(children[0]))

    def value_decl(self, meta, children):
        override, kind, name, type_, expr, *notes = children
        return ast.ValueDecl(str(name), type_, expr, kind == "outcome", override is not None,
                             self._notes(notes), self._span(meta))

    def table_decl(self, meta, children):
        override, outcome, name, type_, hit, *rest = children
        rows = tuple(c for c in rest if isinstance(c, ast.TableRow))
        notes = self._notes([c for c in rest if not isinstance(c, ast.TableRow)])
        return ast.TableDecl(str(name), type_, hit, rows, outcome is not None, override is not None, notes,
                             self._span(meta))

    def when_row(self, meta, children):
        cond, value, *notes = children
        return ast.TableRow(cond, value, self._notes(notes), self._span(meta))

    def otherwise_row(self, meta, children):
        value, *notes = children
        return ast.TableRow(None, value, self._notes(notes), self._span(meta))

    def eligibility_decl(self, meta, children):
        override, outcome, name, *rest = children
        conditions = tuple(c for c in rest if isinstance(c, ast.Condition))
        notes = self._notes([c for c in rest if not isinstance(c, ast.Condition)])
        return ast.EligibilityDecl(str(name), conditions, outcome is not None, override is not None, notes,
                                   self._span(meta))

    def condition(self, meta, children):
        name, expr, *notes = children
        return ast.Condition(str(name), expr, self._notes(notes), self._span(meta))

    def exception_decl(self, meta, children):
        target, label, condition, value, *notes = children
        return ast.ExceptionDecl(str(target), unescape(label), condition, value, self._notes(notes), self._span(meta))

    def summary_decl(self, meta, children):
        override, name, type_, expr, *notes = children
        return ast.SummaryDecl(str(name), type_, expr, override is not None, self._notes(notes), self._span(meta))

    # -- examples
    def example_decl(self, meta, children):
        title, as_of, given, *expects = children
        flat = tuple(e for group in expects for e in group)
        if isinstance(given, list):  # given records [ … ]
            return ast.ExampleDecl(unescape(title), as_of, None, None, flat, self._span(meta), tuple(given))
        record_type, record = given
        return ast.ExampleDecl(unescape(title), as_of, record_type, record, flat, self._span(meta))

    def given_records(self, meta, children):
        return [c for c in children if isinstance(c, ast.RecordLit)]

    def expect_record(self, meta, children):
        return unescape(children[0])

    def as_of_clause(self, meta, children):
        return self._date(children[0])

    def given_clause(self, meta, children):
        return (str(children[0]) if children[0] else None, children[1])

    def expect_clause(self, meta, children):
        record, *expectations = children
        if record is None:
            return tuple(expectations)
        return tuple(dataclasses.replace(e, record=record) for e in expectations)

    def expectation(self, meta, children):
        return ast.Expectation(str(children[0]), children[1], self._span(meta))

    # -- expressions
    def if_expr(self, meta, children):
        return ast.IfExpr(*children, span=self._span(meta))

    def or_op(self, meta, children):
        return ast.Binary("or", children[0], children[1], self._span(meta))

    def and_op(self, meta, children):
        return ast.Binary("and", children[0], children[1], self._span(meta))

    def not_op(self, meta, children):
        return ast.Unary("not", children[0], self._span(meta))

    def compare(self, meta, children):
        left, op, right = children
        op = {"≤": "<=", "≥": ">=", "≠": "!="}.get(str(op), str(op))
        return ast.Binary(op, left, right, self._span(meta))

    def in_op(self, meta, children):
        return ast.Binary("in", children[0], children[1], self._span(meta))

    def not_in_op(self, meta, children):
        return ast.Binary("not in", children[0], children[1], self._span(meta))

    def arith(self, meta, children):
        left, op, right = children
        op = {"×": "*", "÷": "/"}.get(str(op), str(op))
        return ast.Binary(op, left, right, self._span(meta))

    def neg(self, meta, children):
        return ast.Unary("-", children[0], self._span(meta))

    def attr(self, meta, children):
        return ast.Attr(children[0], str(children[1]), self._span(meta))

    def index(self, meta, children):
        return ast.Index(children[0], children[1], self._span(meta))

    def name(self, meta, children):
        return ast.Name(english_name(str(children[0])), self._span(meta))

    def call(self, meta, children):
        func, *rest = children
        func = english_function(str(func))
        clauses = [c for c in rest if isinstance(c, _Clause)]
        args = tuple(a for a in rest if a is not None and not isinstance(a, _Clause))
        if func == "round" and len(args) == 3 and isinstance(args[2], ast.Name):  # round(x, 2, 四舍五入)
            args = (*args[:2], ast.Name(english_round_mode(args[2].name), args[2].span))
        found: dict[str, _Clause] = {}
        for c in clauses:
            if c.kind in found:
                raise _LiteralError(Diagnostic(c.span, f"'{c.kind}' is written twice in {func}(…)",
                                               "write each clause once"))
            found[c.kind] = c
        where, within, by = (found[k].value if k in found else None for k in ("where", "within", "by"))
        options = tuple((c.kind, c.value) for c in clauses if c.kind in ("ties", "method", "rounding"))
        alias = found["as"].value if "as" in found else None
        return ast.Call(str(func), args, where, self._span(meta), within, by or (), options, alias)

    def as_clause(self, meta, children):
        return _Clause("as", str(children[0]), self._span(meta))

    def where_clause(self, meta, children):
        return _Clause("where", children[0], self._span(meta))

    def within_clause(self, meta, children):
        return _Clause("within", children[0], self._span(meta))

    def by_clause(self, meta, children):
        return _Clause("by", tuple(children), self._span(meta))

    def order_key(self, meta, children):
        expr, direction = children
        descending = direction is not None and english_word(str(direction.children[0])) == "desc"
        return ast.OrderKey(expr, descending, self._span(meta))

    def ties_clause(self, meta, children):
        return _Clause("ties", english_option(str(children[0])), self._span(meta))

    def method_clause(self, meta, children):
        return _Clause("method", english_option(str(children[0])), self._span(meta))

    def rounding_clause(self, meta, children):
        return _Clause("rounding", english_option(str(children[0])), self._span(meta))

    def list_lit(self, meta, children):
        return ast.ListLit(tuple(c for c in children if c is not None), self._span(meta))

    def match_expr(self, meta, children):
        subject, *arms = children
        default = arms.pop() if arms and not isinstance(arms[-1], ast.MatchArm) else None
        return ast.MatchExpr(subject, tuple(arms), default, self._span(meta))

    def match_arm(self, meta, children):
        *labels, value = children
        return ast.MatchArm(tuple(labels), value, self._span(meta))

    def else_arm(self, meta, children):
        return children[0]

    def record_lit(self, meta, children):
        return ast.RecordLit(tuple(c for c in children if c is not None), self._span(meta))

    def field_init(self, meta, children):
        return ast.FieldInit(str(children[0]), children[1], self._span(meta))

    # -- literals
    def number(self, meta, children):
        tok = children[0]
        return ast.Literal("decimal" if "." in tok else "int", _number(tok), str(tok), self._span(meta))

    def percent(self, meta, children):
        tok = children[0]
        return ast.Literal("percent", Decimal(str(tok)[:-1]) / 100, str(tok), self._span(meta))

    def money_unit(self, meta, children):
        return str(children[0])

    def duration_unit(self, meta, children):
        return str(children[0])

    def money(self, meta, children):
        amount, unit = children
        value = Decimal(str(amount)) * MONEY_SCALE[unit]
        if value.normalize().as_tuple().exponent < -2:
            raise _LiteralError(Diagnostic(self._span(meta), f"'{amount} {unit}' is more precise than a fen",
                                           "an amount of money has at most 2 decimal places, as in records"))
        return ast.Literal("money", value, f"{amount} {unit}", self._span(meta))

    def duration(self, meta, children):
        amount, unit = children
        if "." in amount:
            raise _LiteralError(Diagnostic(self._span(meta), f"a duration must be a whole number, not {amount}",
                                           "write e.g. '6 个月' instead of '0.5 年'"))
        return ast.Literal("duration", (int(amount), DURATION_UNITS[unit]), f"{amount} {unit}", self._span(meta))

    def date(self, meta, children):
        return ast.Literal("date", self._date(children[0]), str(children[0]), self._span(meta))

    def string(self, meta, children):
        return ast.Literal("text", unescape(children[0]), str(children[0]), self._span(meta))

    def boolean(self, meta, children):
        word = english_word(str(children[0]))
        return ast.Literal("bool", word == "true", word, self._span(meta))

    def _date(self, tok: Token) -> date:
        try:
            return date.fromisoformat(str(tok))
        except ValueError:
            raise _LiteralError(Diagnostic(self._tok_span(tok), f"'{tok}' is not a calendar date",
                                           "dates are written YYYY-MM-DD with a real month and day")) from None
