"""The report's content, once, for every format: headline, who is affected, why, each changed record, details.

`build(comparison, lang)` returns a `Report` of plain texts and tables; `markdown.py`, `html.py` and `xlsx.py`
only lay it out. The order is an official's: the headline first, then who is affected (totals with the records
that gain and lose, the size of the changes, the groups the records carry), the rule changes with their sources,
the changed records (largest change first), and last the details a drafter checks (each policy's file and date,
what could not be compared, the definitions side by side).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import naming
from ..types import INT, MONEY, EnumType
from . import formatting as fm
from . import story
from .model import Comparison, RecordDiff
from .text import problems, status

W = {
    "zh": {
        "title": "政策比较", "vs": "与", "headline": "结论", "records_line":
            "记录：{path}，共 {total} 条，{compared} 条在各方案下均已计算，{differing} 条至少有一项结果不同。",
        "affected": "受影响的{noun}", "totals": "各项结果合计", "outcome": "结果", "baseline": "现行",
        "other": "方案", "change": "变化", "up": "增加", "down": "减少", "same": "不变", "records": "记录数",
        "sum": "合计", "by_size": "按变化幅度：{outcome}", "by_group": "按{group}：{outcome}", "group": "分组",
        "changed": "有变化", "why": "原因：规则的改变", "source": "依据", "no_reason":
            "两个方案的规则相同；结果的不同来自评价日期或输入的读法。",
        "changed_records": "有变化的{noun}（按{outcome}变化幅度排序）", "changed_records_plain": "有变化的{noun}",
        "record": "编号", "name": "名称", "explain": "解释", "more":
            "另有 {n} 条有变化的记录未在此列出；CSV / Excel 报告列出全部。",
        "none": "没有一条记录的结果改变。", "details": "附：方案与定义", "policies": "方案", "file": "文件",
        "as_of": "评价日期", "status": "状态", "not_compared": "未能比较", "only_in": "并非各方案都有的结果",
        "structure": "定义不同之处", "summaries": "汇总", "summary": "汇总项", "crosstab": "{outcome}：现行 → {other}",
        "charts": "图表", "other_outcomes": "其他变化", "label": "代号", "gain_n": "增加（数）", "gain_sum":
            "增加合计", "lose_n": "减少（数）", "lose_sum": "减少合计", "unit": "单位", "mean": "平均变化",
        "all_same": "两个方案的定义相同。", "only": "结果 {n} 只在 {label} 中", "types": "结果 {n} 的类型不同：{ts}",
        "not_defined": "未定义", "rows_note": "数值为各方案下的值；变化 = 方案 − 现行。",
    },
    "en": {
        "title": "Policy comparison", "vs": "vs", "headline": "In brief", "records_line":
            "Records: {path} — {total} in all, {compared} evaluated under every policy, {differing} with at least "
            "one outcome that differs.",
        "affected": "Who is affected", "totals": "Totals of each outcome", "outcome": "outcome",
        "baseline": "baseline", "other": "policy", "change": "change", "up": "up", "down": "down",
        "same": "unchanged", "records": "records", "sum": "total", "by_size": "By size of change: {outcome}",
        "by_group": "By {group}: {outcome}", "group": "group", "changed": "changed",
        "why": "Why: the rule changes", "source": "source", "no_reason":
            "The policies' rules are the same; the differences come from the evaluation dates or how inputs are "
            "read.",
        "changed_records": "Changed records (largest change of {outcome} first)", "changed_records_plain":
            "Changed records", "record": "record", "name": "name", "explain": "explanation",
        "more": "{n} more changed record(s) are not listed here; the CSV / Excel reports list them all.",
        "none": "No outcome differs for any record.", "details": "Appendix: the policies and their definitions",
        "policies": "Policies", "file": "file", "as_of": "evaluated as of", "status": "status",
        "not_compared": "Not compared", "only_in": "Outcomes not in every policy", "structure":
            "Definitions that differ", "summaries": "Summaries", "summary": "summary",
        "crosstab": "{outcome}: baseline → {other}", "charts": "Charts", "other_outcomes": "other changes",
        "label": "label", "gain_n": "up (records)", "gain_sum": "up (sum)", "lose_n": "down (records)",
        "lose_sum": "down (sum)", "unit": "unit", "mean": "mean change", "all_same":
            "The policies define the same params and rules.", "only": "outcome {n} only in {label}",
        "types": "outcome {n} has different types: {ts}", "not_defined": "not defined",
        "rows_note": "Values under each policy; change = policy − baseline.",
    },
}


@dataclass
class Table:
    """A table of texts; `numeric` are the columns aligned right (figures)."""

    title: str
    header: list[str]
    rows: list[list[str]]
    numeric: set[int] = field(default_factory=set)
    note: str = ""


@dataclass
class RecordRow:
    """One changed record in the per-record table: its cells, the size of its change (for sorting) and id."""

    record_id: str
    cells: list[str]
    why: str


@dataclass
class Report:
    lang: str
    title: str
    intro: str
    headlines: list[str]
    affected_title: str
    affected: list[Table]
    reasons: list[tuple[str, str]]   # (rule change, source)
    reasons_title: str
    records_title: str
    records_header: list[str]
    records_numeric: set[int]
    records: list[RecordRow]
    records_more: str
    details: list[Table | str]
    details_title: str
    labels: list[str]
    words: dict[str, str]


def build(c: Comparison, lang: str = "zh", max_records: int = 1000) -> Report:
    """The report of `c` in `lang` ("zh" or "en")."""
    w = W[lang]
    names = [story.policy_name(c, r, lang) for r in c.compared] or [r.label for r in c.runs]
    title = w["title"] + ("：" if lang == "zh" else ": ") + f" {w['vs']} ".join(names[:4])
    intro = w["records_line"].format(path=c.records_path, total=fm.count(c.records_total, lang),
                                     compared=fm.count(c.records_compared, lang),
                                     differing=fm.count(c.records_differing, lang))
    policy = c.compared[0].policy if c.compared else c.runs[0].policy
    word, _ = story.noun(policy, lang)
    heads = c.headline(lang) if len(c.compared) > 1 else []
    if len(c.compared) > 1 and not c.records_differing:
        heads = heads or [w["none"]]
    reasons: list[tuple[str, str]] = []
    for i in range(1, len(c.compared)):
        prefix = f"{names[i]}{'：' if lang == 'zh' else ': '}" if len(c.compared) > 2 else ""
        reasons += [(prefix + r.text, r.source) for r in story.reasons(c, i, lang)]
    primary_label = naming.label(policy, c.primary, lang) if c.primary else ""
    records, header, numeric = _records(c, lang, max_records)
    more = len(c.diffs) if len(c.diffs) < max_records else max_records
    return Report(
        lang=lang, title=title, intro=intro, headlines=heads,
        affected_title=w["affected"].format(noun=word) if lang == "zh" else w["affected"],
        affected=_affected(c, lang), reasons=reasons, reasons_title=w["why"],
        records_title=(w["changed_records"].format(noun=word, outcome=primary_label) if c.primary else
                       w["changed_records_plain"].format(noun=word)),
        records_header=header, records_numeric=numeric, records=records,
        records_more=w["more"].format(n=fm.count(c.records_differing - more, lang))
        if c.records_differing > more else "",
        details=_details(c, lang), details_title=w["details"], labels=names, words=w)


def _affected(c: Comparison, lang: str) -> list[Table]:
    w = W[lang]
    if len(c.compared) < 2:
        return []
    out = []
    policy = c.compared[0].policy
    many = len(c.compared) > 2
    rows = []
    for t in c.numeric:
        if not t.moved:
            continue
        run = c.run_of(t.policy)
        rows.append(([story.policy_name(c, run, lang)] if many else []) + [
            naming.label(policy, t.outcome, lang), fm.unit_of(policy, t.outcome, t.type, lang),
            fm.plain(t.total_base, t.type, lang), fm.plain(t.total_other, t.type, lang),
            fm.plain_change(t.change, t.type, lang), fm.count(t.gain, lang), fm.plain_change(t.gained, t.type, lang),
            fm.count(t.lose, lang), fm.plain_change(t.lost, t.type, lang), fm.count(t.same, lang)])
    if rows:
        header = ([w["other"]] if many else []) + [w["outcome"], w["unit"], w["baseline"], w["other"], w["change"],
                                                   w["gain_n"], w["gain_sum"], w["lose_n"], w["lose_sum"], w["same"]]
        first = 3 if many else 2
        out.append(Table(w["totals"], header, rows, set(range(first, len(header)))))
    for x in c.crosstabs:
        moved = [(a, b, n) for a, b, n in x.cells if a != b]
        if not moved:
            continue
        run = c.run_of(x.policy)
        out.append(Table(w["crosstab"].format(outcome=naming.label(policy, x.outcome, lang),
                                              other=story.policy_name(c, run, lang) if many else w["other"]),
                         [w["baseline"], w["other"], w["records"]],
                         [[fm.value(a, x.type, lang, policy), fm.value(b, x.type, lang, policy), fm.count(n, lang)]
                          for a, b, n in x.cells], {2}))
    for t in c.numeric:
        if t.outcome != c.primary or not t.moved:
            continue
        label = naming.label(policy, t.outcome, lang)
        buckets = story.size_buckets(t, lang, policy)
        title = w["by_size"].format(outcome=label) + (f"（{t.policy}）" if many and lang == "zh" else f" ({t.policy})" if many else "")
        out.append(Table(title, [w["change"], w["records"], w["sum"]],
                         [[b, fm.count(n, lang), fm.plain_change(s, t.type, lang)] for b, n, s in buckets], {1, 2}))
    for g in c.groups:
        label = naming.label(policy, g.outcome, lang)
        group = naming.label(policy, g.field, lang)
        title = w["by_group"].format(group=group, outcome=label) + (f"（{g.policy}）" if many and lang == "zh" else f" ({g.policy})" if many else "")
        ftype = policy.subject.field(g.field)
        rows = [[_group_value(policy, ftype, r.value, lang), fm.count(r.records, lang), fm.count(r.changed, lang),
                 fm.plain(r.total_base, g.type, lang), fm.plain(r.total_other, g.type, lang),
                 fm.plain_change(r.total_other - r.total_base, g.type, lang), fm.count(r.gain, lang),
                 fm.count(r.lose, lang)] for r in g.rows]
        out.append(Table(title, [group, w["records"], w["changed"], w["baseline"], w["other"], w["change"], w["up"],
                                 w["down"]], rows, set(range(1, 8))))
    return out


def _group_value(policy, ftype, value: str, lang: str) -> str:
    """A group's name: an enum label in the report's language, other values as the records carry them."""
    if not value:
        return "—"
    if isinstance(ftype, EnumType):
        return naming.member_label(policy, ftype.name, value, lang)
    return value


def _records(c: Comparison, lang: str, max_records: int) -> tuple[list[RecordRow], list[str], set[int]]:
    w = W[lang]
    if len(c.compared) < 2:
        return [], [], set()
    policy = c.compared[0].policy
    has_names = bool(c.record_names)
    header = [w["record"]] + ([w["name"]] if has_names else [])
    header += [naming.label(policy, f, lang) for f in c.group_fields]
    numeric: set[int] = set()
    if c.primary:
        label = naming.label(policy, c.primary, lang)
        t = dict(c.common_outcomes)[c.primary]
        unit = fm.unit_of(policy, c.primary, t, lang)
        suffix = f"（{unit}）" if unit and lang == "zh" else f" ({unit})" if unit else ""
        start = len(header)
        header += [f"{label}{suffix} {w['baseline']}"] + [f"{w['other']} {k}" if len(c.compared) > 2 else w["other"]
                                                          for k in range(1, len(c.compared))] + [w["change"]]
        numeric = set(range(start, len(header)))
    header += [w["other_outcomes"], "原因" if lang == "zh" else "why"]
    rows = []
    for d in c.diffs[:max_records]:
        cells = [d.record_id] + ([c.record_names.get(d.record_id, "")] if has_names else [])
        cells += [_group_value(policy, policy.subject.field(f), c.record_groups.get(d.record_id, {}).get(f, ""), lang)
                  for f in c.group_fields]
        if c.primary:
            o = next((o for o in d.outcomes if o.outcome == c.primary), None)
            if o is None:
                cells += [""] * (len(c.compared) + 1)
            else:
                cells += [fm.plain(v, o.type, lang) for v in o.values]
                cells.append(fm.plain_change(o.values[-1] - o.values[0], o.type, lang))
        cells.append(_others(c, d, lang))
        rows.append(RecordRow(d.record_id, cells, story.record_why(c, d, lang)))
    return rows, header, numeric


def _others(c: Comparison, d: RecordDiff, lang: str) -> str:
    policy = c.compared[-1].policy
    sep = story.P[lang]["and"]
    parts = []
    for o in d.outcomes:
        if o.outcome == c.primary:
            continue
        parts.append(f"{naming.label(policy, o.outcome, lang)} "
                     + " → ".join(fm.value(v, o.type, lang, policy, o.outcome, unit=False) for v in o.values))
    return sep.join(parts[:6]) + (sep + "…" if len(parts) > 6 else "")


def _details(c: Comparison, lang: str) -> list[Table | str]:
    w = W[lang]
    out: list[Table | str] = []
    out.append(Table(w["policies"], [w["label"], w["other"], w["file"], w["as_of"], w["status"]], [
        [r.label + (f" ({w['baseline']})" if c.compared and r is c.compared[0] else ""),
         naming.title(r.policy, lang), r.path, r.as_of.isoformat(), status(r, lang)] for r in c.runs]))
    notes = problems(c)
    if notes:
        out.append(Table(w["not_compared"], [w["not_compared"]], [[n] for n in notes]))
    extra = [w["only"].format(n=n, label=label) for label, names in c.only_in.items() for n in names]
    extra += [w["types"].format(n=n, ts=", ".join(ts)) for n, ts in c.type_mismatch]
    if extra:
        out.append(Table(w["only_in"], [w["outcome"]], [[e] for e in extra]))
    if c.summaries and len(c.compared) > 1:
        policy = c.compared[0].policy
        out.append(Table(w["summaries"], [w["summary"]] + [story.policy_name(c, r, lang) for r in c.compared],
                         [[naming.label(policy, n, lang)] + [fm.value(v, t, lang, policy, n) for v in vs]
                          for n, t, vs in c.summaries], set(range(1, len(c.compared) + 1))))
    if c.structure or c.field_differences:
        rows = []
        for d in c.structure:
            rows.append([f"{d.kind} {d.name}", "; ".join(d.notes)] +
                        [t if t is not None else w["not_defined"] for t in d.texts])
        rows += [[n, ""] + [t or "—" for t in ts] for n, ts in c.field_differences]
        out.append(Table(w["structure"], ["", ""] + [r.label for r in c.compared], rows))
    elif len(c.compared) > 1:
        out.append(w["all_same"])
    return out


__all__ = ["INT", "MONEY", "Report", "Table", "W", "build"]
