"""Each listed changed record's explanation under every policy compared, written beside the report and linked.

The explanations are those of `policydsl explain` (explain.py's `Explainer`), one HTML page per record and
policy in `<report stem>.explain/<policy number>/<record>.html`. They are written for the records the report lists
(at most `MAX_EXPLAINED`) and only when the records file is small enough to load in memory
(`MAX_RECORDS_EXPLAINED`): a policy whose rules compare records with each other explains a record among all.
"""

from __future__ import annotations

import re
from pathlib import Path

from .model import Comparison

MAX_EXPLAINED = 200
MAX_RECORDS_EXPLAINED = 20_000
_UNSAFE = re.compile(r"[^\w\-.]", re.UNICODE)


def page_name(record_id: str) -> str:
    """A file name for a record id: letters, digits, - _ . kept; anything else as _XX (its code point)."""
    return _UNSAFE.sub(lambda m: f"_{ord(m.group()):x}", record_id) + ".html"


def write_explanations(c: Comparison, report: Path, lang: str, limit: int | None = None) -> tuple[dict[str, list[tuple[str, str]]],
                                                                       list[Path]]:
    """Write the explanations; returns (record id → [(policy label, relative link)], files written)."""
    if len(c.compared) < 2 or not c.diffs or c.records_total > MAX_RECORDS_EXPLAINED:
        return {}, []
    from .. import explain as explaining
    from ..engines.records import DataSetupError
    folder = report.with_name(report.stem + ".explain")
    wanted = [d.record_id for d in c.diffs[:MAX_EXPLAINED if limit is None else min(limit, MAX_EXPLAINED)]]
    if not wanted:
        return {}, []
    links: dict[str, list[tuple[str, str]]] = {rid: [] for rid in wanted}
    written: list[Path] = []
    for k, run in enumerate(c.compared, start=1):
        try:
            mine = {n: p for n, p in c.related.items() if run.policy.subject.field(n) is not None}
            loaded = explaining.load_inputs(run.policy, c.records_path, mine)
            explainer = explaining.Explainer(run.policy, lang=lang)
            explainer.among([(r.id, r.values) for r in loaded.records], run.as_of)
        except (DataSetupError, explaining.ExplainError, ValueError, OSError):
            continue
        values = {r.id: r.values for r in loaded.records if r.id in links}
        sub = folder / str(k)
        sub.mkdir(parents=True, exist_ok=True)
        for rid in wanted:
            if rid not in values:
                continue
            x = explainer.explain_values(values[rid], rid, run.as_of)
            path = sub / page_name(rid)
            path.write_text(explaining.render(x, "html"), encoding="utf-8", newline="")
            written.append(path)
            links[rid].append((_link_text(c, k, lang), f"{folder.name}/{k}/{page_name(rid)}"))
    return links, written


def _link_text(c: Comparison, k: int, lang: str) -> str:
    if k == 1:
        return "现行" if lang == "zh" else "baseline"
    word = "方案" if lang == "zh" else "policy"
    return word if len(c.compared) == 2 else f"{word} {k - 1}"
