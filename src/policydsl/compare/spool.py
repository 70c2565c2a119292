"""Every differing record of a comparison, on disk: the CSV and Excel reports list them all, the page the largest.

A comparison of a million records may find half a million that differ; their values are written to a temporary
file of JSON lines as they stream out of the engine (largest change first) and read back when a report lists them,
so that no list of them is held in memory. The file is removed when the comparison is garbage collected.
"""

from __future__ import annotations

import json
import os
import tempfile
import weakref
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

from ..types import DECIMAL, INT, MONEY, PERCENT, Type, format_value


class Spool:
    """Writes (record id, {outcome: values under each policy}) lines; `close()` hands back the file's path."""

    def __init__(self, outcomes: list[tuple[str, Type]]):
        fd, name = tempfile.mkstemp(prefix="policydsl-compare-", suffix=".jsonl")
        self.path = Path(name)
        self.file = os.fdopen(fd, "w", encoding="utf-8", newline="\n")
        self.types = dict(outcomes)
        self.count = 0

    def add(self, record_id: str, values: dict[str, tuple[object, ...]], name: str = "",
            groups: dict[str, str] | None = None) -> None:
        row = {"id": record_id, "v": {n: [_text(x, self.types[n]) for x in vs] for n, vs in values.items()},
               "n": name, "g": groups or {}}
        self.file.write(json.dumps(row, ensure_ascii=False) + "\n")
        self.count += 1

    def close(self, owner: object) -> Path:
        self.file.close()
        weakref.finalize(owner, _remove, str(self.path))
        return self.path


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _text(value: object, t: Type) -> object:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return format_value(value, t) if t in (MONEY, PERCENT) else format_value(value)


def _value(text: object, t: Type) -> object:
    if isinstance(text, str) and t in (MONEY, DECIMAL, PERCENT):
        return Decimal(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    if t == INT and isinstance(text, str):
        return int(text)
    return text


def read_spool(comparison) -> Iterator[tuple[str, dict[str, tuple[object, ...]], str, dict[str, str]]]:
    """The spooled records of `comparison` — (id, {outcome: values}, name, {group field: value}) — typed again
    (Decimal money, int counts), in the order written."""
    if comparison.spool is None:
        for d in comparison.diffs:
            yield (d.record_id, {o.outcome: o.values for o in d.outcomes}, comparison.record_names.get(d.record_id, ""),
                   comparison.record_groups.get(d.record_id, {}))
        return
    types = dict(comparison.common_outcomes)
    with open(comparison.spool, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            yield (row["id"], {n: tuple(_value(x, types[n]) for x in vs) for n, vs in row["v"].items()}, row["n"],
                   row["g"])
