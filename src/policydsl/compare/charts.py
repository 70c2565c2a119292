"""Charts of a comparison: SVG drawn by matplotlib, deterministic byte for byte."""

from __future__ import annotations

import io
import logging
import re
import warnings
from collections import Counter
from collections.abc import Callable

from ..types import DECIMAL, INT, MONEY, PERCENT
from .model import MAX_CHARTS, Comparison, NumericTotals

# ------------------------------------------------------------------------------------------------ charts

def _charts(c: Comparison) -> list[tuple[str, str]]:
    if len(c.compared) < 2:
        return []
    import matplotlib
    matplotlib.use("Agg", force=False)
    specs: list[tuple[str, Callable]] = []
    seen: set[tuple] = set()
    wide: set[int] = set()  # per-record bar charts get a wider figure
    for t in c.numeric:
        if t.change == 0 and t.min_change == t.max_change == 0:
            continue
        i = c.labels.index(t.policy)
        moves = tuple((d.record_id, o.values[i] - o.values[0]) for d in c.diffs for o in d.outcomes
                      if o.outcome == t.outcome)
        if (t.policy, t.type, moves) in seen:  # e.g. a total that moves exactly like its one changing part
            continue
        seen.add((t.policy, t.type, moves))
        if t.type in (MONEY, DECIMAL, PERCENT) and len(specs) < MAX_CHARTS:
            specs.append((f"Change of {t.outcome} per record: {t.policy} − baseline",
                          lambda ax, t=t: _hist(ax, c, t)))
        elif t.type == INT and len(specs) < MAX_CHARTS:
            if c.per_record_values and len(c.per_record_values) <= 150:
                specs.append((f"{t.outcome} per {c.compared[0].policy.subject.name}",
                              lambda ax, t=t: _per_record(ax, c, t)))
                wide.add(len(specs))
            elif t.distribution:
                specs.append((f"Distribution of {t.outcome}", lambda ax, t=t: _distribution(ax, c, t)))
    width = min(16.0, max(7.5, 0.1 * len(c.per_record_values)))
    return [(title, _svg(title, draw, i, width if i in wide else 7.5))
            for i, (title, draw) in enumerate(specs, start=1)]


def _svg(title: str, draw: Callable, number: int, width: float = 7.5) -> str:
    import matplotlib
    from matplotlib.figure import Figure
    rc = {"svg.hashsalt": "policydsl-compare", "svg.id": f"policydsl-chart-{number}", "svg.fonttype": "none",
          "font.family": "sans-serif",
          "font.sans-serif": ["Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei",
                              "SimHei", "DejaVu Sans"],
          "axes.unicode_minus": False, "path.simplify": True}
    with matplotlib.rc_context(rc), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # CJK glyphs are missing from the measuring font; browsers draw them
        logger = logging.getLogger("matplotlib.font_manager")
        level = logger.level
        logger.setLevel(logging.ERROR)
        try:
            fig = Figure(figsize=(width, 3.6))
            ax = fig.add_subplot()
            draw(ax)
            ax.set_title(title, fontsize=10)
            fig.tight_layout()
            buf = io.StringIO()
            fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": "policydsl"})
        finally:
            logger.setLevel(level)
    text = buf.getvalue()
    start = text.find("<svg")
    return _prefix_ids(text[start:] if start >= 0 else text, f"c{number}-")


def _prefix_ids(svg: str, prefix: str) -> str:
    """Give every id inside one chart a prefix, so that several charts in one HTML page never share an id."""
    root = "policydsl-chart-"

    def fix(m: re.Match) -> str:
        name = m.group(2)
        return m.group(1) + (name if name.startswith(root) else prefix + name) + m.group(3)
    svg = re.sub(r'(\bid=")([^"]+)(")', fix, svg)
    svg = re.sub(r'(url\(#)([^)]+)(\))', fix, svg)
    return re.sub(r'(href="#)([^"]+)(")', fix, svg)


def _hist(ax, c: Comparison, t: NumericTotals) -> None:
    i = c.labels.index(t.policy)
    values = [float(o.values[i] - o.values[0]) for d in c.diffs for o in d.outcomes if o.outcome == t.outcome]
    unchanged = t.same
    counts = Counter(values)
    if 0 < len(counts) <= 30:  # few distinct changes: one bar each, labelled with the exact amount
        keys = sorted(counts)
        ax.bar(range(len(keys)), [counts[k] for k in keys], color="#3b7dd8")
        ax.set_xticks(range(len(keys)))
        ax.set_xticklabels([f"{k:+,.2f}" if t.type == MONEY else f"{k:+g}" for k in keys], rotation=45, fontsize=7)
    elif values:
        ax.hist(values, bins=30, color="#3b7dd8", edgecolor="white")
    ax.set_xlabel(f"change ({'yuan' if t.type == MONEY else t.type}); {unchanged} record(s) unchanged not drawn")
    ax.set_ylabel("records")


def _per_record(ax, c: Comparison, t: NumericTotals) -> None:
    ids = list(c.per_record_values)
    width = 0.8 / len(c.labels)
    for k, label in enumerate(c.labels):
        ys = [dict(c.per_record_values[r])[t.outcome][k] for r in ids]
        ax.bar([x + k * width for x in range(len(ids))], ys, width=width, label=label)
    ax.set_xticks([x + width * (len(c.labels) - 1) / 2 for x in range(len(ids))])
    ax.set_xticklabels(ids, rotation=90, fontsize=6)
    ax.legend(fontsize=8)


def _distribution(ax, c: Comparison, t: NumericTotals) -> None:
    values = [v for v, _, _ in t.distribution]
    width = 0.4
    ax.bar([x - width / 2 for x in range(len(values))], [a for _, a, _ in t.distribution], width=width,
           label=c.labels[0])
    ax.bar([x + width / 2 for x in range(len(values))], [b for _, _, b in t.distribution], width=width,
           label=t.policy)
    ax.set_xticks(range(len(values)))
    ax.set_xticklabels([str(v) for v in values], fontsize=7)
    ax.set_ylabel("records")
    ax.legend(fontsize=8)


