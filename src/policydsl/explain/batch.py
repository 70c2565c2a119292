"""Batch output (`explain --all`): one file per record and an index."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path

from .. import ir
from ..engines.row import Engine
from .explainer import Explainer
from .model import Explanation
from .render import EXTENSIONS, render, render_index


def _summary(x: Explanation) -> Explanation:
    """The explanation without its reasons, figures, suggestions and inputs (what an index needs)."""
    outcomes = tuple(replace(o, reasons=(), figures=(), suggestions=(), sources=()) for o in x.outcomes)
    return replace(x, outcomes=outcomes, inputs=(), figures=())


def file_name(record_id: str, fmt: str) -> str:
    """A safe file name for a record id (letters, digits, Chinese, . _ - kept); a long id is shortened to a prefix
    and a hash of the whole id, since file systems refuse names beyond 255 bytes."""
    safe = re.sub(r"[^\w.-]", "_", record_id).strip(".") or "record"
    if len(safe.encode("utf-8")) > MAX_NAME_BYTES:
        import hashlib
        digest = hashlib.sha256(record_id.encode("utf-8")).hexdigest()[:12]
        prefix = safe.encode("utf-8")[:MAX_NAME_BYTES - 13].decode("utf-8", "ignore")
        safe = f"{prefix}-{digest}"
    return f"{safe}.{EXTENSIONS[fmt]}"


#: Bytes of a file name made from a record id, before its extension (file systems allow 255).
MAX_NAME_BYTES = 100


# ------------------------------------------------------------------------------------------------ files

def load_inputs(policy: ir.Policy, records_path: str | Path, related: dict[str, str | Path] | None = None):
    """Load the records of a data file (a `records.LoadResult`: good records, errors, failed ids)."""
    from ..engines.records import load_records  # the data layer is needed only when files are explained
    return load_records(records_path, policy.subject, policy.records, related or {})


def write_all(policy: ir.Policy, records, out_dir: str | Path, *, lang: str = "zh", fmt: str = "html",
              as_of: date | None = None, why_not: bool = True, engine: Engine | None = None,
              progress: Callable[[int], None] | None = None,
              explainer: Explainer | None = None) -> list[tuple[str, str, Explanation]]:
    """Write one explanation file per (id, values) record into `out_dir`, and an index; returns the entries.

    The entries carry each explanation in summary (the outcomes' values and headlines, no reasons, figures or
    suggestions: those are in the files), so that memory stays small for 100,000 records.

    One `Explainer` (compiled engine, checked author templates, why-not analysis) serves every record: pass the
    one you already have, or it is built once here."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if explainer is None or explainer.lang != lang or explainer.why_not != why_not:
        explainer = Explainer(policy, engine, lang, why_not)
    entries: list[tuple[str, str, Explanation]] = []
    used: set[str] = set()
    for record_id, values in records:
        x = explainer.explain_values(values, record_id, as_of)
        name = file_name(record_id, fmt)
        stem, n = name, 2
        while name.lower() in used or name.lower() == f"index.{EXTENSIONS[fmt]}":
            name = stem.replace(".", f"-{n}.", 1) if "." in stem else f"{stem}-{n}"
            n += 1
        used.add(name.lower())
        (out / name).write_text(render(x, fmt), encoding="utf-8")
        entries.append((name, record_id, _summary(x)))
        if progress:
            progress(1)
    (out / f"index.{EXTENSIONS[fmt]}").write_text(render_index(entries, fmt, lang, policy), encoding="utf-8")
    return entries
