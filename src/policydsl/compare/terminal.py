"""The summary `policydsl run` and `data/run_all.py` print: every summary, values for people, fitted to the
terminal by wrapping (never cut), and — for a policy that declares no summary — how many records got each decision
(e.g. how many secretaries are 诫勉督促).

    lines = summary_lines(policy, batch.summaries, counts, lang="zh", width=100)
"""

from __future__ import annotations

import shutil
import unicodedata
from collections import Counter

from .. import ir, naming
from ..types import BOOL, EnumType
from . import formatting as fm

MAX_DECISIONS = 3  # outcomes counted for a policy without summaries


class DecisionCounter:
    """Counts, row by row, how many records got each value of a policy's enum and bool outcomes."""

    def __init__(self, policy: ir.Policy):
        self.policy = policy
        self.columns: list[tuple[int, str]] = []
        self.counts: dict[str, Counter] = {}
        self._header = True

    def __call__(self, cells: tuple) -> None:
        """One row of results as `api.run_batch(on_row=…)` gives it (the first is the header)."""
        if self._header:
            self._header = False
            kinds = {n.name: n.type for n in self.policy.outcomes}
            wanted = [n for n, t in kinds.items() if isinstance(t, EnumType) or t == BOOL]
            self.columns = [(i, c) for i, c in enumerate(cells) if c in wanted][:MAX_DECISIONS]
            self.counts = {c: Counter() for _, c in self.columns}
            return
        for i, name in self.columns:
            self.counts[name][cells[i]] += 1


def items(policy: ir.Policy, summaries: dict[str, object], counts: dict[str, Counter] | None,
          lang: str = "zh") -> list[str]:
    """`label = value` of every summary; without summaries, `label: value n, value n` of each counted decision."""
    out = []
    for name, value in summaries.items():
        t = policy.summaries[name].type
        shown = value if isinstance(value, str) else fm.value(value, t, lang, policy, name)
        out.append(f"{naming.label(policy, name, lang)} = {shown}")
    if out or not counts:
        return out
    kinds = {n.name: n.type for n in policy.outcomes}
    for name, counter in counts.items():
        t = kinds[name]
        order = list(t.labels) if isinstance(t, EnumType) else [True, False]
        parts = [f"{fm.value(_typed(v, t), t, lang, policy)} {fm.count(counter[v], lang)}"
                 for v in sorted(counter, key=lambda v: order.index(_typed(v, t)) if _typed(v, t) in order else 99)]
        sep = "，" if lang == "zh" else ", "
        colon = "：" if lang == "zh" else ": "
        out.append(f"{naming.label(policy, name, lang)}{colon}{sep.join(parts)}")
    return out


def _typed(v: object, t) -> object:
    if t == BOOL and isinstance(v, str):
        return v.lower() == "true"
    return v


def width_of(text: str) -> int:
    """Columns a text takes on a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def wrap(parts: list[str], width: int, first: str = "", indent: str = "  ", sep: str = "; ") -> list[str]:
    """Parts joined by `sep` in lines of at most `width` columns; a part longer than a line is broken inside."""
    lines: list[str] = []
    line = first
    for k, part in enumerate(parts):
        piece = part + (sep.rstrip() if k < len(parts) - 1 else "")
        glue = "" if not line.strip() or line.endswith((" ", "：", "；", "，")) else " "
        candidate = line + glue + piece
        if width_of(candidate) <= width or not line.strip():
            line = candidate
        else:
            lines.append(line)
            line = indent + piece
        while width_of(line) > width:
            cut = _cut(line, width)
            lines.append(line[:cut])
            line = indent + line[cut:]
    if line.strip():
        lines.append(line)
    return lines


def _cut(text: str, width: int) -> int:
    used = 0
    for i, ch in enumerate(text):
        used += 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if used > width:
            return max(1, i)
    return len(text)


def summary_lines(policy: ir.Policy, summaries: dict[str, object], counts: dict[str, Counter] | None = None,
                  lang: str = "zh", width: int | None = None, first: str = "") -> list[str]:
    """The summary fitted to `width` columns (default: the terminal's); no lines when there is nothing to say."""
    width = width or shutil.get_terminal_size((100, 24)).columns
    found = items(policy, summaries, counts, lang)
    return wrap(found, max(20, width), first, sep="；" if lang == "zh" else "; ") if found else []


__all__ = ["DecisionCounter", "items", "summary_lines", "width_of", "wrap"]
