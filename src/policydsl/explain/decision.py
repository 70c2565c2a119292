"""The decision as the person concerned reads it first: one conclusion sentence (what they got, in words, with the
money or stars), serious outcomes marked, the deciding office, the date and where to seek a review or appeal."""

from __future__ import annotations

from .. import naming
from ..types import MONEY
from .formatting import format_duration, fullwidth_led_by
from .model import OutcomeExplanation

#: Words of the page's frame, in each language.
FRAME = {
    "zh": {"serious": "(严重)", "no_recourse": "本政策文件未载明复核、申诉途径;如有异议,请向作出决定的机关提出。",
           "review": "复核", "appeal": "申诉", "contact": "联系方式", "within": "(自收到本决定之日起 {d}内)",
           "assumed": "(本政策文件的假定:{t})", "sep": ";", "end": "。", "got": "{who}:{what}"},
    "en": {"serious": " (serious)", "no_recourse": "This policy file does not state how to ask for a review or "
           "appeal; if you disagree, write to the office that made the decision.",
           "review": "Review", "appeal": "Appeal", "contact": "Contact", "within": " (within {d} of receiving "
           "this decision)", "assumed": "(an assumption of this policy file: {t})", "sep": "; ", "end": ".",
           "got": "{who}: {what}"},
}


class DecisionMixin:
    """The page's frame (a part of `Explainer`): conclusion, office, recourse."""

    def _frame(self) -> tuple:
        """(title, source line, office, recourse): the same on every page of the policy (made once)."""
        found = getattr(self, "_frame_made", None)
        if found is None:
            found = self._frame_made = (naming.title(self.policy, self.lang), self._source_line(), self._office(),
                                        self._recourse())
        return found

    def _office(self) -> str | None:
        r = naming.recourse(self.policy)
        if r is None:
            return None
        return (r.office_en or r.office) if self.lang == "en" else r.office

    def _recourse(self) -> tuple[tuple[str, str], ...]:
        """(heading, sentence) for the review and appeal routes with their deadlines, and the contact."""
        words = FRAME[self.lang]
        r = naming.recourse(self.policy)
        if r is None or not (r.review or r.appeal or r.contact):
            return (("", self._zh(words["no_recourse"])),)
        en = self.lang == "en"
        out = []
        for key, step in (("review", r.review), ("appeal", r.appeal)):
            if step is None:
                continue
            text = (step.en or step.text) if en else step.text
            if step.within is not None:
                text += words["within"].format(d=format_duration(step.within, self.lang))
            out.append((words[key], text))
        if r.contact:
            out.append((words["contact"], (r.contact_en or r.contact) if en else r.contact))
        if r.assumed is not None:
            out.append(("", words["assumed"].format(t=naming.note(r.assumed, self.lang))))
        return tuple((head, self._zh(text)) for head, text in out)

    def _source_line(self) -> str | None:
        """The policy's own source, cited as a citizen can look it up (`naming.policy_source`)."""
        source = naming.policy_source(self.policy, self.lang)
        return self._zh(source) if source else None

    def _conclusion(self, label: str | None, record_id: str, leading: list[OutcomeExplanation]) -> str:
        """One sentence: the person, then the outcomes `_leading_outcomes` chose, each with its value."""
        words = FRAME[self.lang]
        what = words["sep"].join([self._said_of(o) for o in leading])
        if self.lang == "zh":
            # the sentence opens with the person (`got` starts with {who}: a frame that put them elsewhere fails
            # here, on its {who}, instead of being punctuated as if it opened with them)
            rest = words["got"].removeprefix("{who}").format(what=what)
            return fullwidth_led_by(label, record_id, rest + words["end"])
        who = f"{label} ({record_id})" if label else record_id
        return words["got"].format(who=who, what=what) + words["end"]

    def _leading_outcomes(self, outcomes: list[OutcomeExplanation]) -> list[OutcomeExplanation]:
        """What the person got, first: the eligibility decided (else the first outcome), the largest sum of
        money, and every serious outcome."""
        applying = [o for o in outcomes if o.applies] or outcomes
        decisions = [self._consequence(o, applying) for o in applying if o.kind == "eligibility"]
        chosen = list(dict.fromkeys(decisions)) or applying[:1]  # an admission decides: it comes first
        money = [o for o in applying if o.type == str(MONEY) and o.value is not None]
        if money and not any(o.type == str(MONEY) for o in chosen):
            chosen.append(max(money, key=lambda o: o.value))
        chosen += [o for o in outcomes if o.serious and o not in chosen]
        return chosen

    def _consequence(self, o: OutcomeExplanation, outcomes: list[OutcomeExplanation]) -> OutcomeExplanation:
        """The outcome that says what an eligibility means for the person (三个标准 → 准入结果: 待完成职责交接),
        where another outcome reads it and is a label or a yes/no; else the eligibility itself."""
        for other in outcomes:
            node = self.policy.nodes[other.name]
            if other is not o and o.name in node.reads and node.kind != "eligibility" and \
                    other.type not in ("int", "money", "decimal", "percent", "text"):
                return other
        return o

    def _said_of(self, o: OutcomeExplanation) -> str:
        words = FRAME[self.lang]
        if o.kind == "eligibility" and o.headline.startswith(o.label):
            said = o.headline
        else:
            said = f"{o.label}:{o.value_text}" if self.lang == "zh" else f"{o.label}: {o.value_text}"
        if not o.serious:
            return said
        if said.endswith(")"):  # 不符合(3 项条件未满足) → 不符合(3 项条件未满足,严重): one bracket, not two
            inner = words["serious"].strip().strip("()")
            return said[:-1] + ("," if self.lang == "zh" else ", ") + inner + ")"
        return said + words["serious"]
