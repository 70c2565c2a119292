"""What may follow a value in a policy: citations (`source "…"`, `assumed "…"`) and explanation templates.

Part of the syntax tree (`policydsl.ast` offers them) and kept as they are in the IR. They live in a module of their
own so that loading a checked policy from the compile cache (which holds them) does not import the whole tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .diagnostics import NO_SPAN, Span


def _span() -> Span:
    return field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Citation:
    """`source "…"` (kind 'source') or `assumed "reason"` (kind 'assumed')."""

    kind: str
    text: str
    span: Span = _span()
    document: str | None = None  # a source citing a declared `document` by name; `text` is then the clause
    en: str | None = None  # the note's English text, where the policy gives one


@dataclass(frozen=True)
class Explain:
    """`explain zh "template"`: an author's explanation template in one language."""

    lang: str
    template: str
    span: Span = _span()


@dataclass(frozen=True)
class Annotations:
    """What may follow a value: citations and explanation templates."""

    citations: tuple[Citation, ...] = ()
    explains: tuple[Explain, ...] = ()

    @property
    def assumed(self) -> Citation | None:
        return next((c for c in self.citations if c.kind == "assumed"), None)

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(c.text for c in self.citations if c.kind == "source")
