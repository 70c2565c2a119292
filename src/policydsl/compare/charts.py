"""Charts that answer an official's questions, as SVG drawn by matplotlib (deterministic byte for byte):

1. how the primary outcome changes across the records (one bar per distinct change, or a histogram);
2. its total per group under each policy, side by side;
3. how many records get each decision under each policy (an enum outcome that moves).

Counts are on integer axes; labels are the policy's own (Chinese by default), drawn in WenQuanYi Micro Hei where it
is installed. Each bar carries an SVG `<title>`, so a reader hovering over it sees its exact figure.
"""

from __future__ import annotations

import io
import logging
import re
import warnings
from collections.abc import Callable
from decimal import Decimal

from .. import naming
from ..types import MONEY
from . import formatting as fm
from . import story
from .model import MAX_CHARTS, Comparison
from .report import _group_value

FONTS = ["WenQuanYi Micro Hei", "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "SimHei",
         "DejaVu Sans"]
BASE_COLOUR, OTHER_COLOUR = "#9aa9bb", "#1f5fad"
UP, DOWN = "#1a7f37", "#b42318"
T = {
    "zh": {"dist": "{outcome}的变化：各{noun}的分布", "unchanged": "另有 {n} {m}不变，未画出", "count": "{noun}数",
           "group": "按{group}：{outcome}合计", "decision": "{outcome}：各结果的{noun}数", "change": "变化",
           "baseline": "现行", "other": "方案"},
    "en": {"dist": "Change of {outcome}: how many records change by how much", "unchanged":
           "{n} unchanged record(s) not drawn", "count": "records", "group": "{outcome} by {group}: totals",
           "decision": "{outcome}: records with each decision", "change": "change", "baseline": "baseline",
           "other": "policy"},
}


def charts(c: Comparison, lang: str = "zh") -> list[tuple[str, str]]:
    """(title, SVG text) of each chart for the first policy compared with the baseline."""
    if len(c.compared) < 2:
        return []
    import matplotlib
    matplotlib.use("Agg", force=False)
    specs: list[tuple[str, Callable]] = []
    policy = c.compared[0].policy
    other = c.compared[1]
    word, measure = story.noun(policy, lang)
    t = T[lang]
    primary = next((x for x in c.numeric if x.outcome == c.primary and x.policy == other.label), None)
    if primary is not None and primary.gain + primary.lose:
        title = t["dist"].format(outcome=naming.label(policy, primary.outcome, lang), noun=word)
        specs.append((title, lambda ax, tips: _distribution(ax, tips, primary, lang, policy, word, measure)))
    # the grouping that spreads the change over most groups (a town code rather than a flag most records share)
    candidates = [g for g in c.groups if g.policy == other.label and any(r.changed for r in g.rows)]
    group = max(candidates, key=lambda g: sum(1 for r in g.rows if r.changed), default=None)
    if group is not None:
        title = t["group"].format(group=naming.label(policy, group.field, lang),
                                  outcome=naming.label(policy, group.outcome, lang))
        title = title.replace("合计合计", "合计")  # a total's label already says it is one
        specs.append((title, lambda ax, tips: _groups(ax, tips, group, lang, c)))
    for x in c.crosstabs:
        if x.policy == other.label and any(a != b for a, b, _ in x.cells) and len(specs) < MAX_CHARTS:
            title = t["decision"].format(outcome=naming.label(policy, x.outcome, lang), noun=word)
            specs.append((title, lambda ax, tips, x=x: _decisions(ax, tips, x, lang, c, word)))
            break
    return [(title, _svg(draw, i)) for i, (title, draw) in enumerate(specs[:MAX_CHARTS], start=1)]


def _svg(draw: Callable, number: int, width: float = 6.4, height: float = 3.8) -> str:
    import matplotlib
    from matplotlib.figure import Figure
    rc = {"svg.hashsalt": "policydsl-compare", "svg.id": f"policydsl-chart-{number}", "svg.fonttype": "none",
          "font.family": "sans-serif", "font.sans-serif": FONTS, "axes.unicode_minus": False,
          "path.simplify": True, "axes.spines.top": False, "axes.spines.right": False, "font.size": 11}
    tips: list[str] = []
    with matplotlib.rc_context(rc), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a glyph missing from every installed font: the browser draws it
        logger = logging.getLogger("matplotlib.font_manager")
        level = logger.level
        logger.setLevel(logging.ERROR)
        try:
            fig = Figure(figsize=(width, height))
            ax = fig.add_subplot()
            draw(ax, tips)
            fig.tight_layout()
            buf = io.StringIO()
            fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": "policydsl"})
        finally:
            logger.setLevel(level)
    text = buf.getvalue()
    start = text.find("<svg")
    text = text[start:] if start >= 0 else text
    text = _titles(text, tips)
    return _prefix_ids(text, f"c{number}-")


def _titles(svg: str, tips: list[str]) -> str:
    """Put each bar's tooltip (`tips[k]` for the bar given gid `tip-k`) inside its SVG group as a <title>."""
    from markupsafe import escape

    def add(m: re.Match) -> str:
        k = int(m.group(1))
        return m.group(0) + f"\n   <title>{escape(tips[k])}</title>" if k < len(tips) else m.group(0)
    return re.sub(r'<g id="tip-(\d+)">', add, svg)


def _colon(lang: str) -> str:
    return "：" if lang == "zh" else ": "


def _tip(tips: list[str], patch, text: str) -> None:
    patch.set_gid(f"tip-{len(tips)}")
    tips.append(text)


def _prefix_ids(svg: str, prefix: str) -> str:
    """Give every id inside one chart a prefix, so that several charts in one HTML page never share an id."""
    root = "policydsl-chart-"

    def fix(m: re.Match) -> str:
        name = m.group(2)
        return m.group(1) + (name if name.startswith(root) else prefix + name) + m.group(3)
    svg = re.sub(r'(\bid=")([^"]+)(")', fix, svg)
    svg = re.sub(r'(url\(#)([^)]+)(\))', fix, svg)
    return re.sub(r'(href="#)([^"]+)(")', fix, svg)


def _ticks(ax, xs: list, names: list[str]) -> None:
    """Category labels under the bars, slanted when they would run into each other."""
    from .terminal import width_of
    crowded = sum(width_of(n) + 2 for n in names) > 60
    ax.set_xticks(xs)
    ax.set_xticklabels(names, rotation=30 if crowded else 0, ha="right" if crowded else "center")


def _integer_axis(axis) -> None:
    from matplotlib.ticker import MaxNLocator
    axis.set_major_locator(MaxNLocator(integer=True))


def _distribution(ax, tips, t, lang, policy, word, measure) -> None:
    w = T[lang]
    counts = [(d, n) for d, n in t.change_counts if d != 0]
    if len(counts) <= 25:
        xs = range(len(counts))
        bars = ax.bar(xs, [n for _, n in counts], color=[UP if d > 0 else DOWN for d, _ in counts])
        for bar, (d, n) in zip(bars, counts):
            _tip(tips, bar, f"{fm.change(d, t.type, lang, policy, t.outcome)}{_colon(lang)}{n}")
        ax.set_xticks(list(xs))
        ax.set_xticklabels([fm.plain_change(d, t.type, lang) for d, _ in counts],
                           rotation=45 if len(counts) > 8 else 0, ha="right" if len(counts) > 8 else "center")
    else:
        lo, hi = float(counts[0][0]), float(counts[-1][0])
        width = (hi - lo) / 20 or 1.0
        bins: dict[int, int] = {}
        for d, n in counts:
            k = min(19, int((float(d) - lo) / width))
            bins[k] = bins.get(k, 0) + n
        for k in sorted(bins):
            left = lo + k * width
            bar = ax.bar([left + width / 2], [bins[k]], width=width * 0.95,
                         color=UP if left + width / 2 > 0 else DOWN)[0]
            _tip(tips, bar, f"{fm.plain_change(Decimal(str(round(left, 2))), t.type, lang)} … "
                            f"{fm.plain_change(Decimal(str(round(left + width, 2))), t.type, lang)}{_colon(lang)}{bins[k]}")
    unit = fm.unit_of(policy, t.outcome, t.type, lang)
    ax.set_xlabel(w["change"] + (f"（{unit}）" if unit and lang == "zh" else f" ({unit})" if unit else "")
                  + ("; " if lang == "en" else "；") + w["unchanged"].format(n=t.same, m=measure))
    ax.set_ylabel(w["count"].format(noun=word))
    _integer_axis(ax.yaxis)


def _groups(ax, tips, g, lang, c) -> None:
    w = T[lang]
    rows = list(g.rows)
    xs = list(range(len(rows)))
    width = 0.4
    for k, (attr, colour, name) in enumerate((("total_base", BASE_COLOUR, w["baseline"]),
                                              ("total_other", OTHER_COLOUR, w["other"]))):
        values = [getattr(r, attr) for r in rows]
        bars = ax.bar([x + (k - 0.5) * width for x in xs], [float(v) for v in values], width=width, color=colour,
                      label=name)
        for bar, r, v in zip(bars, rows, values):
            shown = _group_value(c.compared[0].policy, c.compared[0].policy.subject.field(g.field), r.value, lang)
            _tip(tips, bar, f"{shown} {name}{_colon(lang)}{fm.value(v, g.type, lang, c.compared[0].policy, g.outcome)}")
    policy = c.compared[0].policy
    names = [_group_value(policy, policy.subject.field(g.field), r.value, lang) for r in rows]
    _ticks(ax, xs, names)
    if g.type != MONEY:
        _integer_axis(ax.yaxis)
    else:
        ax.yaxis.set_major_formatter(lambda v, _: fm.number(Decimal(int(v)), lang))
    ax.legend(frameon=False)


def _decisions(ax, tips, x, lang, c, word) -> None:
    w = T[lang]
    policy = c.compared[0].policy
    before, after, values = x.margins()
    if hasattr(x.type, "labels"):
        values.sort(key=lambda v: x.type.labels.index(v) if v in x.type.labels else len(x.type.labels))
    xs = list(range(len(values)))
    width = 0.4
    for k, (counts, colour, name) in enumerate(((before, BASE_COLOUR, w["baseline"]),
                                                (after, OTHER_COLOUR, w["other"]))):
        bars = ax.bar([i + (k - 0.5) * width for i in xs], [counts.get(v, 0) for v in values], width=width,
                      color=colour, label=name)
        for bar, v in zip(bars, values):
            _tip(tips, bar, f"{fm.value(v, x.type, lang, policy)} {name}{_colon(lang)}{counts.get(v, 0)}")
    _ticks(ax, xs, [fm.value(v, x.type, lang, policy) for v in values])
    ax.set_ylabel(w["count"].format(noun=word))
    _integer_axis(ax.yaxis)
    ax.legend(frameon=False)


__all__ = ["charts"]
