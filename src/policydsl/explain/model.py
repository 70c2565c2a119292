"""The explanation model: frozen dataclasses that hold every sentence in the reader's language."""

from __future__ import annotations

from dataclasses import dataclass


class ExplainError(Exception):
    """An explanation cannot be produced (a refused or broken author template, an unknown language, …)."""


@dataclass(frozen=True)
class Figure:
    """A parameter an explanation used: its value, the date it is in force from, its citation or assumption."""

    name: str
    value: str
    effective: str | None
    sources: tuple[str, ...]
    assumed: str | None


@dataclass(frozen=True)
class Reason:
    """One sentence of the chain of reasons. kind: formula | branch | row | skipped-row | fail | pass | summary."""

    text: str
    kind: str
    node: str
    depth: int = 0
    sources: tuple[str, ...] = ()
    assumed: str | None = None
    passed: bool | None = None


@dataclass(frozen=True)
class Suggestion:
    """A single input change, re-evaluated, that would change the decision."""

    field: str
    old: str
    new: str
    change: str        # "2 more", "1 day later", "" for enums and bools
    effect: str        # the sentence's consequence part
    text: str          # the whole sentence


@dataclass(frozen=True)
class OutcomeExplanation:
    name: str
    kind: str
    type: str
    value: object
    value_text: str
    headline: str
    author: bool                      # the headline comes from the author's template
    reasons: tuple[Reason, ...]
    figures: tuple[Figure, ...]
    sources: tuple[str, ...]
    assumed: str | None
    suggestions: tuple[Suggestion, ...]


@dataclass(frozen=True)
class Explanation:
    """Everything a reader is told about one record, in one language."""

    lang: str
    policy_name: str
    policy_title: str | None
    policy_source: str | None
    policy_path: str
    record_id: str
    record_label: str | None
    as_of: str
    inputs: tuple[tuple[str, str], ...]
    outcomes: tuple[OutcomeExplanation, ...]
    figures: tuple[Figure, ...]
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None
