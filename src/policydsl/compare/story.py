"""What a comparison means, in sentences an official reads: the headline, the rule changes, each record's why.

Every name is the policy's own label (`naming.label`), every figure formatted for people (`formatting`), every
rule change named with its value under both policies and its source (`naming.cite`). Chinese by default; English
with `lang="en"`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .. import ir, naming
from ..types import BOOL, INT, MONEY
from . import formatting as fm
from .model import Comparison, NumericTotals, PolicyRun, RecordDiff

P = {  # punctuation and small words of each language
    "zh": {"sep": "；", "comma": "，", "stop": "。", "open": "（", "close": "）", "colon": "：", "and": "、",
           "because": "原因：", "baseline": "现行方案", "records": "条记录"},
    "en": {"sep": "; ", "comma": ", ", "stop": ".", "open": " (", "close": ")", "colon": ": ", "and": ", ",
           "because": "Why: ", "baseline": "the baseline", "records": "records"},
}
PEOPLE_SUFFIXES = ("书记", "干部", "人员", "工作者", "者", "员", "人", "候选人")


@dataclass(frozen=True)
class Reason:
    """One rule change between the baseline and another policy: its label, the values, where it comes from."""

    name: str
    text: str          # "每万人员额 21.4 → 18"
    source: str = ""   # "《…》三、(二)" or an assumption's text
    short: str = ""    # the headline's shorter form, where `text` says a whole rule

    @property
    def brief(self) -> str:
        """What the headline says."""
        return self.short or self.text


def policy_name(comp: Comparison, run: PolicyRun, lang: str) -> str:
    """The policy as the report names it: its title, with the evaluation date when the dates differ."""
    name = naming.title(run.policy, lang)
    if not comp.dates_differ and sum(naming.title(r.policy, lang) == name for r in comp.compared) > 1:
        name += P[lang]["open"] + run.label + P[lang]["close"]  # two policies of one title: by their files
    if comp.dates_differ:
        name += P[lang]["open"] + (f"截至{fm.date_text(run.as_of, lang)}" if lang == "zh" else
                                   f"as of {fm.date_text(run.as_of, lang)}") + P[lang]["close"]
    return name


def noun(policy: ir.Policy, lang: str) -> tuple[str, str]:
    """What the records are, for counting: ("社区", "个") / ("党组织书记", "名"); English ("records", "")."""
    label = naming.label(policy, policy.subject.name, lang)
    if lang == "en":
        return (label if naming.has_label(policy, policy.subject.name, "en") else "records"), ""
    if label == "人":
        return label, ""  # “3 人”, not “3 名人”
    return label, ("名" if label.endswith(PEOPLE_SUFFIXES) else "个")


def counted(n: int, policy: ir.Policy, lang: str) -> str:
    """“42 个江北社区” / “42 communities”."""
    word, measure = noun(policy, lang)
    return f"{fm.count(n, lang)} {measure}{word}" if lang == "zh" else f"{fm.count(n, lang)} {plural(word, n)}"


def plural(word: str, n: int = 2) -> str:
    """An English noun for `n` things: community → communities, staff member → staff members."""
    if n == 1 or not word or not word[-1].isalpha() or word.endswith(("staff", "people", "s")):
        return word
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("sh", "ch", "x")):
        return word + "es"
    return word + "s"


def label(policy: ir.Policy, name: str, lang: str) -> str:
    return naming.label(policy, name, lang)


# ------------------------------------------------------------------------------------------------ rule changes

def reasons(comp: Comparison, i: int, lang: str) -> list[Reason]:
    """The rule changes between the baseline and policy i: params whose value in force differs (also between two
    evaluation dates), then tables, outcomes and facts defined differently — each with its label."""
    base, other = comp.compared[0], comp.compared[i]
    out = []
    names = list(dict.fromkeys(list(base.policy.params) + list(other.policy.params)))
    for name in names:
        pa, pb = base.policy.params.get(name), other.policy.params.get(name)
        va = pa.value_at(base.as_of) if pa else None
        vb = pb.value_at(other.as_of) if pb else None
        if (va.value if va else None) == (vb.value if vb else None):
            continue
        t = (pb or pa).type
        text = (f"{label(other.policy, name, lang)} {_v(va, t, lang, base.policy, name)} → "
                f"{_v(vb, t, lang, other.policy, name)}")
        out.append(Reason(name, text, _source(other.policy, vb.notes if vb else None, lang)))
    for d in comp.structure:
        if d.kind == "param" or d.texts[0] == d.texts[comp.compared.index(other)]:
            continue
        node = other.policy.nodes.get(d.name) or base.policy.nodes.get(d.name)
        what = label(other.policy, d.name, lang)
        rows = [n for n in d.notes if n.startswith("row ")]
        mine = other.policy.nodes.get(d.name)
        if mine is not None and isinstance(mine.body, ir.TableBody) and rows:
            changed = [int(r.split()[1]) for r in rows]
            text = _table_change(other.policy, mine, changed, lang)
            source = P[lang]["sep"].join(_source(other.policy, r.notes, lang) for r in mine.body.rows
                                         if r.number in changed and r.notes.citations)
            out.append(Reason(d.name, text, source or _source(other.policy, mine.notes, lang),
                              _table_change(other.policy, mine, changed[:1], lang, more=len(changed) - 1)))
            continue
        if node is not None and isinstance(node.body, ir.TableBody):
            text = (f"{what}的规则表改变" + (f"（第 {', '.join(r.split()[1] for r in rows)} 行）" if rows else "")
                    if lang == "zh" else f"the table {what} changed" +
                    (f" (row {', '.join(r.split()[1] for r in rows)})" if rows else ""))
        elif mine is not None and d.texts[0] is not None and isinstance(mine.body, ir.IExpr):
            rule = _words(other.policy, lang, mine.body)
            text = f"{what}改为：{rule}" if lang == "zh" else f"{what} is now: {rule}"
            short = f"{what}的计算规则改变" if lang == "zh" else f"the rule for {what} changed"
            out.append(Reason(d.name, text, _source(other.policy, mine.notes, lang), short))
            continue
        elif d.texts[0] is None:
            text = f"新增{what}" if lang == "zh" else f"{what} is new"
        elif d.texts[comp.compared.index(other)] is None:
            text = f"不再有{what}" if lang == "zh" else f"{what} is gone"
        else:
            text = f"{what}的计算规则改变" if lang == "zh" else f"the rule for {what} changed"
        out.append(Reason(d.name, text, _source(other.policy, node.notes if node else None, lang)))
    return out


#: Rows of a changed table said in a reason (the others are counted).
MAX_ROWS_SAID = 3
#: Characters of a rule said in words before it is cut (a reason is one line of a table).
MAX_RULE_CHARS = 160


def _table_change(policy: ir.Policy, node: ir.Node, changed: list[int], lang: str, more: int = 0) -> str:
    """“擅离处理改为：本年擅离次数 ≥ 2 → 扣当季绩效并免去职务；…” — the changed rows in the explanations' words
    (`more` rows besides them are counted, not said)."""
    rows = [r for r in node.body.rows if r.number in changed]
    said = []
    for row in rows[:MAX_ROWS_SAID]:
        value = _words(policy, lang, row.value)
        if row.condition is None:
            said.append(("其余情形 → " if lang == "zh" else "otherwise → ") + value)
        else:
            said.append(f"{_words(policy, lang, row.condition)} → {value}")
    more += len(rows) - len(said)
    what = label(policy, node.name, lang)
    if lang == "zh":
        return f"{what}改为：" + "；".join(said) + (f"（另有 {more} 行改变）" if more else "")
    return f"{what} is now: " + "; ".join(said) + (f" (and {more} more row{'s' if more > 1 else ''} changed)"
                                                   if more else "")


_EXPLAINERS: dict[tuple[int, str], tuple] = {}  # (policy id, language) → (policy, its explainer)


def _words(policy: ir.Policy, lang: str, x: ir.IExpr) -> str:
    """An expression as the explanations say it (one explainer per policy and language, made when first needed)."""
    from ..explain import Explainer  # the explanations' sentences; imported only when a rule changed
    key = (id(policy), lang)
    found = _EXPLAINERS.get(key)
    if found is None or found[0] is not policy:
        if len(_EXPLAINERS) > 8:  # a long-running service compares many policies: keep only the recent ones
            _EXPLAINERS.clear()
        found = _EXPLAINERS[key] = (policy, Explainer(policy, lang=lang, why_not=False))
    text = found[1].expression_text(x)
    return text if len(text) <= MAX_RULE_CHARS else text[:MAX_RULE_CHARS - 1] + "…"


def _v(pv: ir.ParamValue | None, t, lang: str, policy: ir.Policy, name: str) -> str:
    if pv is None:
        return "—"
    return fm.value(pv.value, t, lang, policy, name)


def _source(policy: ir.Policy, notes, lang: str) -> str:
    if notes is None:
        return ""
    parts = []
    for c in notes.citations:
        if c.kind == "source":
            parts.append(("依据：" if lang == "zh" else "source: ") + naming.cite(policy, c, lang))
        elif c.kind == "assumed":
            parts.append(("假定：" if lang == "zh" else "assumed: ") + naming.note(c, lang).rstrip("。."))
    return "; ".join(parts) if lang == "en" else "；".join(parts)


# ------------------------------------------------------------------------------------------------ the headline

def headlines(comp: Comparison, lang: str) -> list[str]:
    """One paragraph per policy compared with the baseline: people affected, money, posts, stars — and why."""
    if len(comp.compared) < 2:
        return []
    return [headline(comp, i, lang) for i in range(1, len(comp.compared))]


def headline(comp: Comparison, i: int, lang: str) -> str:
    p = P[lang]
    base, other = comp.compared[0], comp.compared[i]
    policy = other.policy
    figures: list[str] = []
    for name, t, values in comp.summaries:
        if values[i] != values[0] and t in (INT, MONEY) or (values[i] != values[0] and len(figures) < 2):
            if isinstance(values[0], str) or isinstance(values[i], str):
                continue  # a summary that failed to compute says so in the table, not in the headline
            figures.append(_moved(policy, name, t, values[0], values[i], lang))
        if len(figures) >= 3:
            break
    affected = comp.affected.get(other.label, 0)
    if affected:
        figures.append(f"{counted(affected, policy, lang)}受影响（共 {fm.count(comp.records_compared, lang)}）"
                       if lang == "zh" else
                       f"{fm.count(affected, lang)} of {counted(comp.records_compared, policy, lang)} affected")
    else:
        figures.append("没有一条记录的结果改变" if lang == "zh" else "no record's outcome changes")
    totals = {t.outcome: t for t in comp.numeric if t.policy == other.label}
    primary = totals.get(comp.primary) if comp.primary else None
    shown_moves = set()
    if primary is not None:
        figures.append(_primary_text(primary, policy, lang))
        shown_moves.add((primary.moved, primary.change))
    for t in totals.values():
        if t is primary or not t.moved or t.type != MONEY or (t.moved, t.change) in shown_moves:
            continue
        if len(figures) >= 5:
            break
        shown_moves.add((t.moved, t.change))
        figures.append(f"{label(policy, t.outcome, lang)} {fm.change(t.change, t.type, lang, policy, t.outcome)}")
    if primary is not None and primary.type == MONEY:
        ints = [t for t in totals.values() if t.type == INT and t.moved and t is not primary]
        if ints:
            figures.append(_primary_text(ints[0], policy, lang))
    figures += _decision_moves(comp, i, lang)[:2]
    why = reasons(comp, i, lang)
    text = f"{policy_name(comp, other, lang)}{p['colon']}" + p["sep"].join(f for f in figures if f) + p["stop"]
    if why:
        shown = [r.brief for r in why[:3]]
        more = len(why) - len(shown)
        if more:
            shown.append(f"等 {more} 项" if lang == "zh" else f"and {more} more")
        text += " " if lang == "en" else ""
        text += p["because"] + p["sep"].join(shown) + p["stop"]
    elif comp.dates_differ or base.policy is not other.policy:
        text += (" " if lang == "en" else "") + ("规则相同。" if lang == "zh" else "The rules are the same.")
    return text


def _moved(policy: ir.Policy, name: str, t, a, b, lang: str) -> str:
    p = P[lang]
    return (f"{label(policy, name, lang)} {fm.value(a, t, lang, policy, name, unit=False)} → "
            f"{fm.value(b, t, lang, policy, name)}{p['open']}{fm.change(b - a, t, lang)}{p['close']}")


def _range(lo, hi, t, lang: str, policy, name) -> str:
    b = fm.value(abs(hi), t, lang, policy, name)
    if lo == hi:
        return b
    if t == MONEY:
        return f"{fm.money(abs(lo), lang).rsplit(' ', 1)[0]}–{b}"
    return f"{fm.value(abs(lo), t, lang, policy, name, unit=False)}–{b}"


def _primary_text(t: NumericTotals, policy: ir.Policy, lang: str) -> str:
    """“42 个社区 基础员额 减少 1–2 人;无增加” or “年度报酬合计 +60,000 元(126,000 → 186,000 元),43 名增加”."""
    what = label(policy, t.outcome, lang)
    ups = [d for d, _ in t.change_counts if d > 0]
    downs = [d for d, _ in t.change_counts if d < 0]
    parts = []
    if t.type == MONEY:
        total = "" if what.endswith(("合计", "总额", "总计")) else "合计"
        parts.append(f"{what}{total} {fm.change(t.change, t.type, lang)}{P[lang]['open']}"
                     f"{fm.value(t.total_base, t.type, lang)} → {fm.value(t.total_other, t.type, lang)}"
                     f"{P[lang]['close']}" if lang == "zh" else
                     f"{what}{'' if 'total' in what.lower() else ' in total'} {fm.change(t.change, t.type, lang)} "
                     f"({fm.value(t.total_base, t.type, lang)}"
                     f" → {fm.value(t.total_other, t.type, lang)})")
    up_good, down_good = _favourable_words(policy, t.outcome, lang)
    if t.gain:
        rng = _range(min(ups), max(ups), t.type, lang, policy, t.outcome)
        parts.append(f"{counted(t.gain, policy, lang)}{what}增加 {rng}{up_good}" if lang == "zh" else
                     f"{what} rises for {counted(t.gain, policy, lang)} (by {rng}){up_good}")
    if t.lose:
        rng = _range(max(downs), min(downs), t.type, lang, policy, t.outcome)
        parts.append(f"{counted(t.lose, policy, lang)}{what}减少 {rng}{down_good}" if lang == "zh" else
                     f"{what} falls for {counted(t.lose, policy, lang)} (by {rng}){down_good}")
    if t.type != MONEY and (t.gain == 0) != (t.lose == 0):
        parts.append("无一增加" if t.gain == 0 and lang == "zh" else "无一减少" if lang == "zh" else
                     "none rises" if t.gain == 0 else "none falls")
    return P[lang]["comma"].join(parts)


def _favourable_words(policy: ir.Policy, name: str, lang: str) -> tuple[str, str]:
    """“(有利)” / “(不利)” after a rise and a fall, where the policy says which way is favourable to the person."""
    better = naming.favourable(policy, name)
    if better is None or better.direction not in ("higher", "lower"):
        return "", ""
    good, bad = ("（有利）", "（不利）") if lang == "zh" else (" — favourable", " — unfavourable")
    return (good, bad) if better.direction == "higher" else (bad, good)


def _decision_moves(comp: Comparison, i: int, lang: str) -> list[str]:
    """Decisions that change in number: “超员 26 → 49 个”, “免去职务 3 → 19 名”."""
    other = comp.compared[i]
    policy = other.policy
    out = []
    for x in comp.crosstabs:
        if x.policy != other.label:
            continue
        before, after, values = x.margins()
        if x.type == BOOL:
            values = [True] if True in values else []
        moves = [(v, before.get(v, 0), after.get(v, 0)) for v in values if before.get(v, 0) != after.get(v, 0)]
        if not moves:
            continue
        word, measure = noun(policy, lang)
        shown = []
        for v, a, b in moves[:2]:
            name = label(policy, x.outcome, lang) if x.type == BOOL else fm.value(v, x.type, lang, policy)
            if lang == "zh":
                shown.append(f"{name} {fm.count(a, lang)} → {fm.count(b, lang)}" + (f" {measure}" if measure else ""))
            else:
                shown.append(f"{name} {fm.count(a, lang)} → {fm.count(b, lang)}")
        prefix = "" if x.type == BOOL else label(policy, x.outcome, lang) + P[lang]["colon"]
        out.append(prefix + P[lang]["and"].join(shown))
    return out


# ------------------------------------------------------------------------------------------------ one record

def record_why(comp: Comparison, d: RecordDiff, lang: str, limit: int = 4, effects_too: bool = False) -> str:
    """Why one record's outcomes differ, in words: the rule changes that acted on it, then what they moved."""
    p = P[lang]
    causes: list[str] = []
    seen: set[str] = set()
    policy = comp.compared[-1].policy
    for o in d.outcomes:
        for cause in o.causes:
            run = next((r for r in comp.compared if r.label == cause.policy), comp.compared[-1])
            policy = run.policy
            if cause.path is None:
                for c in cause.changed:
                    name = c.split(" ")[-1]
                    if name not in seen:
                        seen.add(name)
                        causes.append(label(policy, name, lang))
                continue
            for s in cause.path:
                if s.name in seen:
                    continue
                if s.kind == "param":
                    seen.add(s.name)
                    causes.append(f"{label(policy, s.name, lang)} {fm.value(s.values[0], s.type, lang, policy, s.name)}"
                                  f" → {fm.value(s.values[1], s.type, lang, policy, s.name)}")
                elif s.rows != (None, None) and s.name in {x.split(" ")[-1] for x in cause.changed}:
                    seen.add(s.name)
                    what = (f"{fm.value(s.values[0], s.type, lang, policy, s.name, unit=False)} → "
                            f"{fm.value(s.values[1], s.type, lang, policy, s.name)}")
                    if s.rows[0] != s.rows[1]:
                        what += p["comma"] + (f"第 {s.rows[0] or '—'} 行 → 第 {s.rows[1] or '—'} 行" if lang == "zh"
                                              else f"row {s.rows[0] or '—'} → row {s.rows[1] or '—'}")
                    causes.append(f"{label(policy, s.name, lang)}{p['open']}{what}{p['close']}")
            if not causes:
                for c in cause.changed:
                    name = c.split(" ")[-1]
                    if name not in seen and not name.startswith("param"):
                        seen.add(name)
                        causes.append(f"{label(policy, name, lang)}的规则改变" if lang == "zh" else
                                      f"the rule for {label(policy, name, lang)} changed")
    if not effects_too:
        return p["and"].join(causes[:4]) if causes else ("输入读法不同" if lang == "zh" else "inputs read differently")
    effects = []
    for o in d.outcomes[:limit]:
        a, b = o.values[0], o.values[-1]
        effects.append(f"{label(policy, o.outcome, lang)} {fm.value(a, o.type, lang, policy, o.outcome, unit=False)}"
                       f" → {fm.value(b, o.type, lang, policy, o.outcome)}")
    if len(d.outcomes) > limit:
        effects.append(f"等 {len(d.outcomes)} 项" if lang == "zh" else f"{len(d.outcomes) - limit} more")
    lead = p["and"].join(causes[:3]) if causes else ("输入读法不同" if lang == "zh" else "inputs read differently")
    joiner = "，使" if lang == "zh" else ", so "
    return lead + joiner + p["and"].join(effects)


def change_of(comp: Comparison, d: RecordDiff) -> tuple[object, object, object] | None:
    """The primary outcome of a record under the baseline and the last policy, and the change."""
    o = next((o for o in d.outcomes if o.outcome == comp.primary), None)
    if o is None:
        return None
    return o.values[0], o.values[-1], o.values[-1] - o.values[0]


def size_buckets(t: NumericTotals, lang: str, policy: ir.Policy) -> list[tuple[str, int, object]]:
    """The records by size of change of one numeric outcome: (change, records, sum of the change); each distinct
    change when there are few, else ten ranges of equal width (unchanged records apart)."""
    counts = [(d, n) for d, n in t.change_counts if d != 0]
    zero = sum(n for d, n in t.change_counts if d == 0)
    out = []
    if len(counts) <= 12:
        out = [(fm.change(d, t.type, lang, policy, t.outcome), n, d * n) for d, n in counts]
    else:
        lo, hi = Decimal(counts[0][0]), Decimal(counts[-1][0])
        step = (hi - lo) / 10 or Decimal(1)
        bins: dict[int, list] = {}
        for d, n in counts:
            k = min(9, int((Decimal(d) - lo) / step))
            b = bins.setdefault(k, [0, 0])
            b[0] += n
            b[1] += d * n
        for k in sorted(bins):
            a, b = lo + step * k, lo + step * (k + 1)
            text = f"{fm.plain_change(_round(a, t), t.type, lang)} … {fm.plain_change(_round(b, t), t.type, lang)}"
            out.append((text, bins[k][0], bins[k][1]))
    if zero:
        out.append(("±0" if lang == "en" else "不变", zero, 0))
    return out


def _round(v: Decimal, t) -> object:
    return int(v.to_integral_value()) if t == INT else v.quantize(Decimal("0.01"))


__all__ = ["Reason", "change_of", "counted", "headline", "headlines", "noun", "policy_name",
           "reasons", "record_why", "size_buckets"]
