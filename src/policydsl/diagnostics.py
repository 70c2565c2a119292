"""Source spans and diagnostics shared by every pipeline stage.

A diagnostic renders as::

    policies/x.policy:12:7: error: undefined name '星极'
       12 | fact 总星 = 星极 + 1
          |             ^^^^
      hint: did you mean '星级'?
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Span:
    """A region of a source file; lines and columns count from 1, `end_col` is exclusive."""

    file: str
    line: int
    col: int
    end_line: int
    end_col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


NO_SPAN = Span("<builtin>", 0, 0, 0, 0)

SEVERITIES = ("error", "warning", "note")


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding about a policy file, with the place it concerns and a hint in words."""

    span: Span
    message: str
    hint: str | None = None
    severity: str = "error"
    related: tuple[tuple[Span, str], ...] = ()

    def render(self, sources: "SourceCache") -> str:
        """The full text: location, message, the source line with a caret, related places, the hint."""
        out = [f"{self.span}: {self.severity}: {self.message}"]
        out.extend(_excerpt(self.span, sources))
        for span, note in self.related:
            out.append(f"{span}: note: {note}")
            out.extend(_excerpt(span, sources))
        if self.hint:
            out.append(f"  hint: {self.hint}")
        return "\n".join(out)


class SourceCache:
    """Remembers the text of every file read, so diagnostics can quote the offending line."""

    def __init__(self) -> None:
        self._texts: dict[str, str] = {}
        self._lines: dict[str, list[str]] = {}  # split once per file: quoting a line costs O(1), not O(file)

    def add(self, name: str, text: str) -> None:
        self._texts[name] = text
        self._lines.pop(name, None)

    def line(self, name: str, number: int) -> str | None:
        """Line `number` of a file; one it was not given is read only if it is a small regular .policy file (any
        other file may be anything, and its content must not be echoed in a message)."""
        lines = self._lines.get(name)
        if lines is None:
            text = self._texts.get(name)
            if text is None:
                text = _read_policy_quietly(name)
                if text is None:
                    return None
                self._texts[name] = text
            lines = self._lines[name] = text.splitlines()
        if 1 <= number <= len(lines):
            return lines[number - 1]
        return None


def _read_policy_quietly(name: str) -> str | None:
    from .limits import MAX_POLICY_BYTES, read_limited, refuse_named_file
    path = Path(name)
    if refuse_named_file(path, (".policy",), MAX_POLICY_BYTES, [], "policy file") is not None:
        return None
    try:
        return read_limited(path, MAX_POLICY_BYTES).decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


#: The longest excerpt of a source line quoted under a diagnostic.
EXCERPT_CHARS = 120


def display_width(text: str) -> int:
    """Terminal columns taken by `text`: CJK characters are two columns wide, so carets line up."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _excerpt(span: Span, sources: SourceCache) -> list[str]:
    if span.line <= 0:
        return []
    text = sources.line(span.file, span.line)
    if text is None:
        return []
    text = text.replace("\t", " ")
    start = max(span.col - 1, 0)
    end = span.end_col - 1 if span.end_line == span.line and span.end_col > span.col else len(text.rstrip())
    end = max(end, start + 1)
    if len(text) > EXCERPT_CHARS:  # a very long line: only a window around the spot, marked with "…"
        left = max(0, start - EXCERPT_CHARS // 2)
        right = min(len(text), max(left + EXCERPT_CHARS, start + 1))
        prefix = "…" if left else ""
        text = prefix + text[left:right] + ("…" if right < len(text) else "")
        start, end = start - left + len(prefix), min(end, right) - left + len(prefix)
        end = max(end, start + 1)
    text = "".join(ch if ch.isprintable() or ch == " " else "\ufffd" for ch in text)  # no NUL or escape codes
    gutter = f"{span.line:>5} | "
    pad = " " * display_width(text[:start])
    carets = "^" * max(display_width(text[start:end]), 1)
    return [gutter + text.rstrip(), " " * (len(gutter) - 2) + "| " + pad + carets]


#: The most names `closest` compares a misspelt name with.
MAX_CANDIDATES = 2000


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate most like `name` (typos, one wrong character), if any is close enough.

    Not searched among more than MAX_CANDIDATES names: each search costs time in proportion to the names, and a
    file with thousands of names and as many mistakes would take hours (no hint is better than no answer).
    """
    if hasattr(candidates, "__len__") and len(candidates) > MAX_CANDIDATES:
        return None
    pool = sorted(set(candidates))
    if len(pool) > MAX_CANDIDATES:
        return None
    matches = difflib.get_close_matches(name, pool, n=1, cutoff=0.5)
    if matches:
        return matches[0]
    # Short CJK names differ by one character in half their length; difflib's ratio undervalues that.
    for cand in pool:
        if len(cand) == len(name) and len(name) >= 2 and sum(a != b for a, b in zip(cand, name)) == 1:
            return cand
    return None


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A hint suggesting the closest defined name, or None."""
    best = closest(name, candidates)
    return f"did you mean '{best}'?" if best else None


@dataclass
class DiagnosticBag:
    """Collects diagnostics of a stage so all of them are reported at once."""

    items: list[Diagnostic] = field(default_factory=list)

    def error(self, span: Span, message: str, hint: str | None = None,
              related: tuple[tuple[Span, str], ...] = ()) -> None:
        self.items.append(Diagnostic(span, message, hint, "error", related))

    def warning(self, span: Span, message: str, hint: str | None = None) -> None:
        self.items.append(Diagnostic(span, message, hint, "warning"))

    def note(self, span: Span, message: str, hint: str | None = None) -> None:
        self.items.append(Diagnostic(span, message, hint, "note"))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "error"]

    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.items)


class PolicyError(Exception):
    """Raised by the API when a policy cannot be loaded; carries every diagnostic found."""

    def __init__(self, diagnostics: list[Diagnostic], sources: SourceCache):
        self.diagnostics = diagnostics
        self.sources = sources
        super().__init__(self.render())

    def render(self) -> str:
        return render_all(self.diagnostics, self.sources)


def sort_key(d: Diagnostic) -> tuple:
    return (d.span.file, d.span.line, d.span.col, d.message)


def render_all(diagnostics: Iterable[Diagnostic], sources: SourceCache) -> str:
    """All diagnostics in file/line order, separated by blank lines; each distinct one once."""
    unique = {(d.span, d.message, d.severity): d for d in diagnostics}
    return "\n\n".join(d.render(sources) for d in sorted(unique.values(), key=sort_key))
