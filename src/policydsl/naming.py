"""What a reader of a policy's results calls a name, in Chinese or English, and what a name means for the person.

Explanations, comparison reports and the service ask this module — never the glossary itself — for a name's label
(`label`, `member_label`), its unit, whether the person concerned can change an input (`actionable`), which way an
outcome is favourable (`favourable`, `is_serious`), how a source is cited (`cite`) and how to seek a review
(`recourse`). Where a policy says nothing, the answers fall back to the name itself, a unit guessed from the end of
the name (a figure's unit the policy did not state), and no documents or recourse.
"""

from __future__ import annotations

from .ir import Better, Document, Policy, Recourse, RecourseStep, Term
from .notes import Citation

__all__ = [
    "LOCALES", "Better", "Document", "Recourse", "RecourseStep", "actionable", "cite", "documents", "favourable",
    "guessed_unit", "has_label", "is_serious", "label", "member_label", "note", "policy_source", "recourse", "title", "unit",
]

#: The Babel locale of each reader's language (explanations and comparison reports format figures in it).
LOCALES = {"zh": "zh_CN", "en": "en_GB"}

#: Units guessed from the end of a name where the glossary gives none: (suffix, zh, en "one|many").
_GUESSED_UNITS = (("年龄", "岁", "|"), ("党龄", "年", "year|years"), ("年限", "年", "year|years"),
                  ("星级", "星", "star|stars"), ("星级变化", "星", "star|stars"), ("星", "星", "star|stars"),
                  ("人数", "人", "person|people"), ("员额", "人", "person|people"),
                  ("户数", "户", "household|households"))


def _term(policy: Policy, target: str) -> Term | None:
    return policy.glossary.get(target)


def label(policy: Policy, name: str, lang: str) -> str:
    """The label of a field, param, fact, outcome, table, eligibility, summary, list, enum type or the policy."""
    term = _term(policy, name)
    if term is not None:
        text = term.en if lang == "en" else term.zh
        if text:
            return text
    if lang == "en" and name == policy.name and policy.title_en:  # the policy's own name: its English title
        return policy.title_en
    return name


def member_label(policy: Policy, owner: str, member: str, lang: str) -> str:
    """The label of `owner.member`: an enum label, an eligibility's condition, a related record's field."""
    term = _term(policy, f"{owner}.{member}")
    if term is not None:
        text = term.en if lang == "en" else term.zh
        if text:
            return text
    return member


def has_label(policy: Policy, name: str, lang: str, member: str | None = None) -> bool:
    """Whether the policy itself labels `name` (or `name.member`) in `lang`; Chinese names label themselves."""
    if lang == "zh":
        return True
    if member is None and name == policy.name and policy.title_en:
        return True
    term = _term(policy, name if member is None else f"{name}.{member}")
    return term is not None and bool(term.en)


def title(policy: Policy, lang: str) -> str:
    """The policy's title in `lang`: the header's title (Chinese), its `en` title, or a glossary label."""
    if lang == "en":
        if policy.title_en:
            return policy.title_en
        if has_label(policy, policy.name, "en"):
            return label(policy, policy.name, "en")
    return policy.title or label(policy, policy.name, "zh")


def unit(policy: Policy, name: str, value: object, lang: str) -> str:
    """The unit of `name`'s figure in `lang` ("岁", "year"/"years" by `value`), or ""."""
    term = _term(policy, name)
    if term is not None and (term.unit_zh or term.unit_en):
        return _in_language(term.unit_zh or "", term.unit_en or "", value, lang)
    return guessed_unit(name, value, lang)


def guessed_unit(name: str, value: object, lang: str) -> str:
    """The unit a figure's name suggests (年龄 → 岁, …星级 → 星/stars) where no policy states one, or ""."""
    for suffix, zh, en in _GUESSED_UNITS:
        if name.endswith(suffix):
            return _in_language(zh, en, value, lang)
    return ""


def _in_language(zh: str, en: str, value: object, lang: str) -> str:
    if lang == "zh":
        return zh
    one, _, many = en.partition("|")
    return one if _is_one(value) or not many else many


def _is_one(value: object) -> bool:
    try:
        return abs(value) == 1  # type: ignore[arg-type]
    except TypeError:
        return False


def actionable(policy: Policy, field: str) -> bool:
    """Whether the person concerned can change the input `field` (suggestions may propose only these)."""
    term = _term(policy, field)
    return term is not None and term.actionable


def favourable(policy: Policy, name: str) -> Better | None:
    """Which way `name` is favourable to the person concerned, if the policy says."""
    term = _term(policy, name)
    return term.better if term is not None else None


def is_serious(policy: Policy, name: str, value: object) -> bool:
    """Whether `value` of the outcome `name` is serious for the person (removal, exit, refusal, deduction,
    warning): the glossary marks the outcome `serious` and the value is not the favourable one."""
    term = _term(policy, name)
    if term is None or not term.serious:
        return False
    if term.serious_values:
        return value in term.serious_values
    better = term.better
    if better is None:
        return True
    if better.direction is None:
        return value != better.value
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "is_finite"):
        return False
    return value < 0 if better.direction == "higher" else value > 0  # type: ignore[operator]


def cite(policy: Policy, citation: Citation, lang: str) -> str:
    """A source as a citizen can look it up: 《标题》clause / “Title”, clause; free text as written."""
    doc = policy.documents.get(citation.document) if citation.document else None
    clause = citation.en if lang == "en" and citation.en else citation.text
    if doc is None:
        return clause
    if lang == "en":
        name = f"“{doc.en or doc.title}”"
        return f"{name}, {clause}" if clause else name
    return f"《{doc.title}》{clause}"


def policy_source(policy: Policy, lang: str) -> str | None:
    """The header's `source` as a citizen can look it up (`cite`), or None where the header names none."""
    citation = policy.source_citation
    return cite(policy, citation, lang) if citation is not None else policy.source


def note(citation: Citation, lang: str) -> str:
    """An assumption's (or a source's) text in `lang`, falling back to the text the policy wrote."""
    return citation.en if lang == "en" and citation.en else citation.text


def documents(policy: Policy) -> tuple[Document, ...]:
    """The documents the policy declares, in declaration order."""
    return tuple(policy.documents.values())


def recourse(policy: Policy) -> Recourse | None:
    """The deciding office, the review and appeal routes with deadlines, and the contact, if declared."""
    return policy.recourse
