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
    label: str = ""                   # the name in the reader's language


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
    detail: bool = False              # a formula, table row or branch: folded below the plain sentences


@dataclass(frozen=True)
class Suggestion:
    """A single input change, re-evaluated, that would change the decision."""

    field: str
    old: str
    new: str
    change: str        # "2 more", "1 day later", "" for enums and bools
    effect: str        # the sentence's consequence part
    text: str          # the whole sentence
    fields: tuple[str, ...] = ()      # every field the suggestion changes (more than one: a combination)
    ease: tuple = ()                  # sorts the easiest first: (number of changes, size of the change)
    changes: tuple = ()               # ((field, new value in runtime form), …): what the engine re-evaluated


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
    label: str = ""                   # the outcome's name in the reader's language
    serious: bool = False             # a removal, exit, refusal, deduction or warning (naming.is_serious)
    applies: bool = True              # False: the outcome does not concern this person's case (不适用)
    incidents: tuple[str, ...] = ()   # the dated related records a penalty counted, one line each
    leading: bool = False             # named in the conclusion: shown first


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
    conclusion: str = ""              # the one sentence first on the page: what the person got
    serious: bool = False
    office: str | None = None         # the deciding office (naming.recourse)
    decided_on: str = ""              # the date of the decision
    recourse: tuple[tuple[str, str], ...] = ()   # (heading, sentence): review, appeal, contact
    suggestions: tuple[Suggestion, ...] = ()     # the page's "what you can do", easiest first

    @property
    def ok(self) -> bool:
        return self.error is None
