"""The text page, laid out in Python rather than by a template: a batch renders hundreds of thousands of pages,
and most of a page's lines are the same objects from page to page (the memoised reasons and params), so each such
line is laid out once and then only joined.

The layout: the title; the conclusion (or the error); the office, the date, the source; each outcome that concerns
the person with its plain reasons, the incidents it counted and, under "[计算过程]", the formulas, rows and params
with their sources and assumptions; the outcomes that do not concern the person in one line; what the person can
do; review and appeal; the record's data. Every piece is made safe for a terminal (`limits.printable`): escape
codes and other controls are shown, never sent.
"""

from __future__ import annotations

from ..limits import printable_lines
from .memo import ByIdentity
from .model import Explanation, Figure, OutcomeExplanation, Reason

#: The mark before a reason, by its kind.
MARKS = {"fail": "✗", "pass": "✓", "skipped-row": "·", "summary": "✓", "na": "○"}
#: Lines laid out before the memo starts again (the objects it keeps alive are the explainers' own).
MAX_LINES = 50_000

_LINES = ByIdentity(MAX_LINES)
#: An outcome's whole section, by the section (shared between records) and the page labels it was laid out with.
_SECTIONS: dict[int, tuple[dict, ByIdentity]] = {}


def _clean(text: str) -> str:
    return text if text.isprintable() else printable_lines(text)


def render_text(x: Explanation, t: dict[str, str]) -> str:
    """The explanation as plain text, with the page labels `t` of its language."""
    out = [_clean(x.policy_title or ""), "\n"]
    if not x.ok:
        out += [t["record"], t["colon"], _clean(x.record_id)]
        if x.record_label:
            out += [t["lparen"], _clean(x.record_label), t["rparen"]]
        out += ["\n", t["error"], t["colon"], _clean(x.error or ""), "\n"]
    else:
        out += ["\n", _clean(x.conclusion), "\n"]
    out += ["\n", t["office"], t["colon"], _clean(x.office or t["no_office"]), "\n"]
    if x.ok:
        out += [t["decided_on"], t["colon"], _clean(x.decided_on), "\n"]
    if x.policy_source:
        out += [t["source"], t["colon"], _clean(x.policy_source), "\n"]
    if x.ok:
        sections = _sections(t)
        for o in x.outcomes:
            if o.applies:
                out.append(sections.get(o, lambda o: _outcome(o, t)))
        na = [o for o in x.outcomes if not o.applies]
        if na:
            out += ["\n○ ", t["not_applying"], t["colon"], _clean(t["sep"].join(o.label for o in na)), "\n"]
        if x.suggestions:
            out += ["\n", t["why_not"], t["colon"].strip(), "\n"]
            out += [f"  → {_clean(s.text)}\n" for s in x.suggestions]
    out += ["\n", t["recourse"], t["colon"].strip(), "\n"]
    for head, text in x.recourse:
        out += [_clean(f"{head}{t['colon']}{text}" if head else text), "\n"]
    if x.ok and x.inputs:
        out += ["\n", t["inputs"], t["colon"].strip(), "\n"]
        out += [f"  {_clean(name)}{t['colon']}{_clean(value)}\n" for name, value in x.inputs]
    return "".join(out)


def _sections(t: dict[str, str]) -> ByIdentity:
    """The memo of laid-out sections for the labels `t` (one per language: the same section object is laid out
    once per set of labels)."""
    found = _SECTIONS.get(id(t))
    if found is None or found[0] is not t:
        found = _SECTIONS[id(t)] = (t, ByIdentity(MAX_LINES))
    return found[1]


def _outcome(o: OutcomeExplanation, t: dict[str, str]) -> str:
    serious = f"{t['lparen']}{t['serious']}{t['rparen']}" if o.serious else ""
    out = [f"\n■ {_clean(o.label)}{t['colon']}{_clean(o.value_text)}{serious}\n"]
    if o.author:
        out.append(f"  {_clean(o.headline)}\n")
    details = []
    for r in o.reasons:
        if r.detail:
            details.append(r)
        else:
            out.append(_LINES.get(r, lambda r: f"  {MARKS.get(r.kind, '-')} {_clean(r.text)}\n"))
    if o.incidents:
        out.append(f"  {t['incidents']}{t['colon'].strip()}\n")
        out += [f"    · {_clean(i)}\n" for i in o.incidents]
    if details or o.figures or o.sources or o.assumed:
        out.append(f"  [{t['details']}]\n")
        out += [_LINES.get(r, lambda r: _detail(r, t)) for r in details]
        out += [f"    [{t['source']}{t['colon']}{_clean(s)}]\n" for s in o.sources]
        if o.assumed:
            out.append(f"    [{t['assumed']}{t['colon']}{_clean(o.assumed)}]\n")
        out += [_LINES.get(f, lambda f: _figure(f, t)) for f in o.figures]
    return "".join(out)


def _detail(r: Reason, t: dict[str, str]) -> str:
    indent = "    " + "  " * r.depth
    out = [f"{indent}{MARKS.get(r.kind, '-')} {_clean(r.text)}\n"]
    out += [f"{indent}  [{t['source']}{t['colon']}{_clean(s)}]\n" for s in r.sources]
    if r.assumed:
        out.append(f"{indent}  [{t['assumed']}{t['colon']}{_clean(r.assumed)}]\n")
    return "".join(out)


def _figure(f: Figure, t: dict[str, str]) -> str:
    since = t["from"].format(d=f.effective) if f.effective else t["always"]
    out = [f"    {_clean(f.label)} = {_clean(f.value)}{t['lparen']}{_clean(since)}{t['rparen']}\n"]
    out += [f"      [{t['source']}{t['colon']}{_clean(s)}]\n" for s in f.sources]
    if f.assumed:
        out.append(f"      [{t['assumed']}{t['colon']}{_clean(f.assumed)}]\n")
    return "".join(out)
