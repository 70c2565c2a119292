"""Who is affected: the outcome records are ranked by, and the records grouped by the fields they carry.

The **primary outcome** is the figure an official weighs first: the money outcome that moves most (summed over
the records, whichever way), else the count that moves most. Records are listed by the size of its change.

**Groups** are columns of the records file with a few distinct values (a town code, a community type, a post, an
assessment grade): enum fields the policy declares first, then other columns of text (in file order), then small
integer grades (`…级`); at most `MAX_GROUP_FIELDS`. For each, the records, how many changed and the primary
outcome's total under both policies — on DuckDB by one aggregate query per field over the file as read by DuckDB
itself (bounded memory), with the row engine from the rows in memory.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from ..engines.records import DataSetupError, read_rows
from ..types import INT, MONEY, EnumType
from .model import Comparison, GroupRow, GroupTotals

MAX_GROUP_FIELDS = 3
MAX_GROUP_VALUES = 30
NAME_FIELDS = ("姓名", "名称", "name")
SERIAL_SUFFIXES = ("序号", "编号", "编码", "id", "ID")  # numbering within a group does not group anything
_SQL_NATIVE = (".csv", ".parquet")


def primary_outcome(comp: Comparison) -> str | None:
    """The numeric outcome that moves most: money first, then other numbers; None when no number moves."""
    moved: dict[str, object] = {}
    kinds: dict[str, int] = {}
    for t in comp.numeric:
        if t.moved:
            moved[t.outcome] = moved.get(t.outcome, 0) + t.moved
            kinds[t.outcome] = 0 if t.type == MONEY else 1
    if not moved:
        return None
    money = [n for n in moved if kinds[n] == 0]
    if len(money) > 1:
        # a sum of money that moves is read before its parts: the year's deductions before this one's
        import networkx as nx

        from ..graph import build
        graph = build(comp.compared[0].policy)
        parts = {n for n in money if n in graph and any(m in nx.descendants(graph, n) for m in money if m != n)}
        for n in parts:
            del moved[n]
    # a tie is a total and the one part of it that moves: the later declared (the total) reads better
    return min(moved, key=lambda n: (kinds[n], -moved[n], -list(moved).index(n)))


def change_size(comp: Comparison, values: list[dict]) -> object:
    """How far the primary outcome of one record moves (the largest move against the baseline)."""
    name = comp.primary
    if name is None:
        return 0
    return max(abs(v[name] - values[0][name]) for v in values[1:])


def choose_fields(comp: Comparison, distinct: dict[str, int], records: int) -> list[str]:
    """The columns that group the records, in order of preference (see the module's docstring)."""
    policy = comp.compared[0].policy
    key = policy.subject.key
    ranked = []
    for position, (name, n) in enumerate(distinct.items()):
        if name == key or name in NAME_FIELDS or name.endswith(SERIAL_SUFFIXES) or not 2 <= n <= MAX_GROUP_VALUES or n > max(2, records // 2):
            continue
        t = policy.subject.field(name)
        if isinstance(t, EnumType):
            rank = 0
        elif t is None or str(t) == "text":
            rank = 1
        elif t == INT and name.endswith("级") and n <= 10:
            rank = 2
        else:
            continue  # amounts, dates and flags do not group people
        ranked.append((rank, position, name))
    return [name for _, _, name in sorted(ranked)[:MAX_GROUP_FIELDS]]


def _looks_boolean(values: set[str]) -> bool:
    return bool(values) and {v.strip().lower() for v in values} <= {"true", "false", "是", "否", ""}


# ------------------------------------------------------------------------------------------------ the row engine

def row_labels(comp: Comparison) -> dict[str, dict[str, str]]:
    """The records file's rows as text (the row engine, records in memory); chooses the group fields."""
    try:
        rows = _first_rows(comp)
    except DataSetupError:
        return {}
    distinct: dict[str, set[str]] = {}
    for raw in rows.values():
        for name, v in raw.items():
            seen = distinct.setdefault(name, set())
            if len(seen) <= MAX_GROUP_VALUES:
                seen.add(v)
    counts = {n: (len(v) if not _looks_boolean(v) else 0) for n, v in distinct.items()}
    comp.group_fields = choose_fields(comp, counts, len(rows))
    return rows


def name_and_groups(comp: Comparison, raw: dict[str, str]) -> tuple[str, dict[str, str]]:
    """A record's name (姓名, 名称) and its group values, from its row."""
    name = next((raw[n] for n in NAME_FIELDS if raw.get(n)), "")
    return name, {f: raw.get(f, "") for f in comp.group_fields}


def row_groups(comp: Comparison, numbers: list[tuple[str, list[dict]]], rows: dict[str, dict[str, str]]) -> None:
    """Groups from the rows in memory (the row engine): `numbers` are each compared record's numeric outcomes
    under every policy."""
    _names_and_groups(comp, rows)
    name = comp.primary
    if name is None:
        return
    t = dict(comp.common_outcomes)[name]
    for i in range(1, len(comp.compared)):
        for fname in comp.group_fields:
            acc: dict[str, list] = {}
            for rid, values in numbers:
                g = rows.get(rid, {}).get(fname, "")
                a, b = values[0][name], values[i][name]
                row = acc.setdefault(g, [0, 0, 0, 0, 0, 0])
                row[0] += 1
                row[1] += a != b
                row[2] += a
                row[3] += b
                row[4] += b > a
                row[5] += b < a
            comp.groups.append(GroupTotals(fname, comp.compared[i].label, name, t, tuple(
                GroupRow(g, *acc[g]) for g in sorted(acc, key=lambda v, f=fname: _order(comp, f, v)))))


def _first_rows(comp: Comparison) -> dict[str, dict[str, str]]:
    """Each key's first row (a later row with the same key is refused when the records load)."""
    rows: dict[str, dict[str, str]] = {}
    for rid, raw in _raw_rows(comp):
        rows.setdefault(rid, raw)
    return rows


def _raw_rows(comp: Comparison):
    key = comp.compared[0].policy.subject.key
    for _, raw in read_rows(comp.records_path):
        if isinstance(raw, dict) and raw.get(key) is not None:
            yield str(raw[key]).strip(), {k: "" if v is None else str(v).strip() for k, v in raw.items()
                                          if not isinstance(v, (list, dict))}


def _names_and_groups(comp: Comparison, rows: dict[str, dict[str, str]]) -> None:
    name_field = next((n for n in NAME_FIELDS if any(n in r for r in rows.values())), None)
    for d in comp.diffs:
        raw = rows.get(d.record_id, {})
        comp.record_groups[d.record_id] = {f: raw.get(f, "") for f in comp.group_fields}
        if name_field and raw.get(name_field):
            comp.record_names[d.record_id] = raw[name_field]


# ------------------------------------------------------------------------------------------------ DuckDB

def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _source(path: str) -> str | None:
    p = Path(path)
    suffix = p.suffix.lower() if p.is_file() else ""
    literal = "'" + str(p).replace("'", "''") + "'"
    if suffix == ".csv":
        return f"read_csv({literal}, all_varchar=true, header=true)"
    if suffix == ".parquet":
        return f"read_parquet({literal})"
    return None


def sql_group_table(comp: Comparison, sbs) -> tuple[str, str, list[str]] | None:
    """`main.__groups`: the key, the group fields and the name of every record, from the records file as DuckDB
    reads it (CSV, Parquet), or from its rows for other formats; chooses the group fields. Returns what
    `SideBySide.differing(beside=…)` joins, or None when the file cannot be read this way."""
    db = sbs.db
    key = comp.compared[0].policy.subject.key
    source = _source(comp.records_path)
    try:
        if source is None:
            rows = _first_rows(comp)
            _table_from_rows(db, rows, list(dict.fromkeys(n for r in rows.values() for n in r)))
            source = "main.__rawgroups"
        columns = [r[0] for r in db.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
        if key not in columns:
            return None
        probe = ", ".join(f"approx_count_distinct({_q(c)}), "
                          f"bool_and(lower(trim(CAST({_q(c)} AS VARCHAR))) IN ('true', 'false', '是', '否'))"
                          for c in columns)
        found = db.execute(f"SELECT count(*), {probe} FROM {source}").fetchone()
        counts = {c: (0 if found[2 + 2 * k] else found[1 + 2 * k]) for k, c in enumerate(columns)}
        comp.group_fields = choose_fields(comp, counts, found[0])
        name_field = next((n for n in NAME_FIELDS if n in columns), None)
        wanted = list(dict.fromkeys(comp.group_fields + ([name_field] if name_field else [])))
        cells = "".join(f", trim(CAST({_q(c)} AS VARCHAR)) AS {_q(c)}" for c in wanted)
        # each key's first row, as loading keeps it (a later duplicate is refused)
        db.execute(f"CREATE OR REPLACE TABLE main.__groups AS SELECT DISTINCT ON (__gkey) * EXCLUDE (__gpos) FROM ("
                   f"SELECT trim(CAST({_q(key)} AS VARCHAR)) AS __gkey{cells}, row_number() OVER () AS __gpos "
                   f"FROM {source}) ORDER BY __gkey, __gpos")
    except Exception as exc:  # noqa: BLE001 — a file DuckDB cannot read this way only loses the breakdowns
        if type(exc).__module__.startswith("duckdb") or isinstance(exc, (DataSetupError, OSError)):
            comp.group_fields = []
            return None
        raise
    comp.name_field = name_field
    return "main.__groups", "__gkey", wanted


def labels_beside(comp: Comparison, beside: tuple[str, str, list[str]] | None,
                  cells: tuple) -> tuple[str, dict[str, str]]:
    """A differing record's name and group values from the columns `differing(beside=…)` gave it."""
    if beside is None:
        return "", {}
    values = dict(zip(beside[2], cells))
    name = (values.get(comp.name_field) or "") if comp.name_field else ""
    return name, {f: values.get(f) or "" for f in comp.group_fields}


def sql_group_totals(comp: Comparison, sbs) -> None:
    """The primary outcome's totals per group under each policy: one aggregate query per group field."""
    name = comp.primary
    if name is None or not comp.group_fields:
        return
    db = sbs.db
    t = dict(comp.common_outcomes)[name]
    for i in range(1, len(comp.compared)):
        for fname in comp.group_fields:
            b, o = "p0.__final", f"p{i}.__final"
            q = (f"SELECT coalesce(g.{_q(fname)}, ''), count(*), "
                 f"count(*) FILTER (WHERE r0.{_q(name)} IS DISTINCT FROM r1.{_q(name)}), "
                 f"sum(r0.{_q(name)}), sum(r1.{_q(name)}), "
                 f"count(*) FILTER (WHERE r1.{_q(name)} > r0.{_q(name)}), "
                 f"count(*) FILTER (WHERE r1.{_q(name)} < r0.{_q(name)}) "
                 f"FROM main.__compared c JOIN {b} r0 ON c.__key = r0.__key JOIN {o} r1 ON c.__key = r1.__key "
                 f"LEFT JOIN main.__groups g ON g.__gkey = c.__key GROUP BY 1 ORDER BY 1")
            rows = [GroupRow(str(g), n, changed, _exact(a, t), _exact(bb, t), gain, lose)
                    for g, n, changed, a, bb, gain, lose in db.execute(q).fetchall()]
            rows.sort(key=lambda r, f=fname: _order(comp, f, r.value))
            comp.groups.append(GroupTotals(fname, comp.compared[i].label, name, t, tuple(rows)))


def _order(comp: Comparison, field: str, value: str) -> tuple:
    """Groups of an enum field in the enum's order (优秀, 称职, …), others as text."""
    t = comp.compared[0].policy.subject.field(field)
    if isinstance(t, EnumType) and value in t.labels:
        return (0, t.labels.index(value), "")
    return (1, 0, value)


def _exact(v: object, t) -> object:
    if v is None:
        return 0 if t == INT else Decimal(0)
    if t == INT:
        return int(v)
    return Decimal(v) if not isinstance(v, Decimal) else v


def _table_from_rows(db, rows: dict[str, dict[str, str]], columns: list[str]) -> None:
    columns = columns or ["__none"]
    cols = ", ".join(f"{_q(c)} VARCHAR" for c in columns)
    db.execute(f"CREATE OR REPLACE TABLE main.__rawgroups ({cols})")
    marks = ", ".join("?" for _ in columns)
    db.executemany(f"INSERT INTO main.__rawgroups VALUES ({marks})",
                   [[r.get(c) for c in columns] for r in rows.values()])


__all__ = ["MAX_GROUP_FIELDS", "change_size", "choose_fields", "labels_beside", "name_and_groups", "primary_outcome",
           "row_groups", "row_labels", "sql_group_table", "sql_group_totals"]
