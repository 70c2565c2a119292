"""Several policies evaluated on the same records in one DuckDB database, and what a comparison needs of them.

    with SideBySide([(policy_a, as_of_a), (policy_b, as_of_b)], "records.csv", related={}) as sbs:
        sbs.loads[1].data_errors, sbs.compared_count, sbs.changes(1, "星级奖励"), sbs.differing(["星级奖励"])

Each policy is evaluated in its own schema (`p0`, `p1`, …) exactly as `policydsl run --engine duckdb` evaluates it;
the records compared are those every policy loaded and evaluated without error. Every figure is an aggregate query
(sums, counts of each distinct change, crosstabs), so memory does not grow with the records; only the records whose
outcomes differ are streamed back, in file order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlglot import exp

from ... import ir
from .. import records as rec
from ..base import BatchResult
from .compile import ERROR, KEY, ORDER, col
from .runner import Database, DuckRun

COMPARED = "__compared"


@dataclass
class Load:
    """One policy's side: what failed to load (its own schema), or why the file could not be read at all."""

    batch: BatchResult
    setup_error: str | None = None
    loaded: int = 0  # records that loaded (evaluated, with or without an error)

    @property
    def total(self) -> int:
        return self.loaded + len(self.batch.failed_ids)


class SideBySide:
    """The runs of a comparison, queried together."""

    def __init__(self, runs: list[tuple[ir.Policy, date]], records: str | Path, related: dict[str, str | Path]):
        self.database = Database()
        self.db = self.database.db
        self.runs: list[DuckRun] = []
        self.loads: list[Load] = []
        for i, (policy, as_of) in enumerate(runs):
            run = DuckRun(policy, as_of, self.database, schema=f"p{i}")
            mine = {k: Path(v) for k, v in related.items() if policy.subject.field(k) is not None}
            batch = BatchResult("duckdb")
            try:
                run.load_and_evaluate(Path(records), mine, batch, keep=True)
                (loaded,) = self.db.execute("SELECT count(*) FROM __final").fetchone()
                self.loads.append(Load(batch, loaded=loaded))
            except rec.DataSetupError as exc:
                self.loads.append(Load(batch, str(exc)))
            self.runs.append(run)
        self._compare_on = [i for i, load in enumerate(self.loads) if load.setup_error is None]
        self._build_compared()

    def close(self) -> None:
        self.database.close()

    def __enter__(self) -> "SideBySide":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -------------------------------------------------------------------------------------------- the records
    def _results(self, i: int) -> exp.Table:
        return exp.to_table(f"p{i}.__final")

    def _build_compared(self) -> None:
        """`main.__compared`: the key and baseline position of every record every policy evaluated cleanly, and
        `main.__loaded`: those every policy loaded (their evaluation errors are reported)."""
        runs = self._compare_on
        if not runs:
            return
        self.db.execute('USE "main"')
        first = runs[0]
        loaded = exp.select(col(KEY, "a0"), col(ORDER, "a0")).from_(self._results(first).as_("a0"))
        for n, i in enumerate(runs[1:], start=1):
            loaded = loaded.join(self._results(i).as_(f"a{n}"), on=exp.EQ(this=col(KEY, "a0"),
                                                                          expression=col(KEY, f"a{n}")))
        self._sql(exp.Create(this=exp.to_table("__loaded"), kind="TABLE", expression=loaded))
        clean = loaded.copy().where(exp.and_(*[exp.Is(this=col(ERROR, f"a{n}"), expression=exp.null())
                                              for n in range(len(runs))]))
        self._sql(exp.Create(this=exp.to_table(COMPARED), kind="TABLE", expression=clean))

    def _sql(self, e: exp.Expression):
        return self.db.execute(e.sql(dialect="duckdb"))

    @property
    def compared_count(self) -> int:
        return self.db.execute(f'SELECT count(*) FROM main."{COMPARED}"').fetchone()[0] if self._compare_on else 0

    def evaluation_errors(self, i: int) -> list[tuple[str, str]]:
        """(record id, message) of records every policy loaded but policy i could not evaluate, in file order."""
        q = exp.select(col(KEY, "r"), col(ERROR, "r")).from_(self._results(i).as_("r")).where(exp.and_(
            exp.Not(this=exp.Is(this=col(ERROR, "r"), expression=exp.null())),
            exp.In(this=col(KEY, "r"), query=exp.Subquery(this=exp.select(col(KEY, None)).from_("main.__loaded")))
        )).order_by(col(ORDER, "r"))
        return [tuple(row) for row in self._sql(q).fetchall()]

    def _pair(self, i: int, *cells: exp.Expression) -> exp.Select:
        """SELECT cells FROM the compared records joined with policy 0 (as b) and policy i (as o)."""
        return exp.select(*cells).from_(exp.to_table(f"main.{COMPARED}").as_("c")).join(
            self._results(0).as_("b"), on=exp.EQ(this=col(KEY, "c"), expression=col(KEY, "b"))).join(
            self._results(i).as_("o"), on=exp.EQ(this=col(KEY, "c"), expression=col(KEY, "o")))

    # -------------------------------------------------------------------------------------------- figures
    def changes(self, i: int, name: str) -> tuple[object, Counter]:
        """The sum of the baseline's values and a count of each distinct change (other − baseline)."""
        change = exp.Sub(this=col(name, "o"), expression=col(name, "b"))
        q = self._pair(i, exp.alias_(change, "change"), exp.alias_(exp.func("COUNT", exp.Star()), "n"),
                       exp.alias_(exp.Sum(this=col(name, "b")), "base")).group_by(exp.column("change"))
        counts, base = Counter(), None
        for delta, n, total in self._sql(q).fetchall():
            counts[delta] += n
            base = total if base is None else base + total
        return base, counts

    def value_counts(self, i: int, name: str) -> Counter:
        """(value, 0) → how many records have it under the baseline, (value, 1) under policy i."""
        counts: Counter = Counter()
        for side, alias in ((0, "b"), (1, "o")):
            q = self._pair(i, col(name, alias), exp.func("COUNT", exp.Star())).group_by(col(name, alias))
            for value, n in self._sql(q).fetchall():
                counts[(value, side)] += n
        return counts

    def crosstab(self, i: int, name: str) -> Counter:
        q = self._pair(i, col(name, "b"), col(name, "o"), exp.func("COUNT", exp.Star())).group_by(
            col(name, "b"), col(name, "o"))
        return Counter({(a, b): n for a, b, n in self._sql(q).fetchall()})

    def differing(self, names: list[str], by: str | None = None,
                  beside: tuple[str, str, list[str]] | None = None) -> Iterator[tuple]:
        """(record id, [values of each name under each policy]) of every compared record where any of `names`
        differs between the baseline and another policy, in file order — or, with `by` (a numeric outcome), the
        largest change of `by` against the baseline first, then in file order; streamed in chunks. With `beside`
        (table, key column, columns), each record also gets those columns of its row in that table (LEFT JOIN on
        the key): (record id, values, (columns …))."""
        aliases = [f"a{k}" for k in range(len(self._compare_on))]
        q = exp.select(col(KEY, "c"), *[col(n, a) for n in names for a in aliases]).from_(
            exp.to_table(f"main.{COMPARED}").as_("c"))
        for a, i in zip(aliases, self._compare_on):
            q = q.join(self._results(i).as_(a), on=exp.EQ(this=col(KEY, "c"), expression=col(KEY, a)))
        if beside is not None:
            table, key, columns = beside
            q = q.select(*[col(c, "g") for c in columns]).join(
                exp.to_table(table).as_("g"), on=exp.EQ(this=col(KEY, "c"), expression=col(key, "g")), join_type="left")
        differs = [exp.Not(this=exp.NullSafeEQ(this=col(n, a), expression=col(n, aliases[0])))
                   for n in names for a in aliases[1:]]
        if not differs:
            return
        order = [col(ORDER, "c")]
        if by is not None and len(aliases) > 1:
            sizes = [exp.Abs(this=exp.Sub(this=col(by, a), expression=col(by, aliases[0]))) for a in aliases[1:]]
            size = sizes[0] if len(sizes) == 1 else exp.Greatest(this=sizes[0], expressions=sizes[1:])
            order.insert(0, exp.Ordered(this=size, desc=True))
        result = self._sql(q.where(exp.or_(*differs)).order_by(*order))
        width = len(aliases)
        while chunk := result.fetchmany(5000):
            for key, *cells in chunk:
                values = [tuple(cells[j * width:(j + 1) * width]) for j in range(len(names))]
                if beside is None:
                    yield key, values
                else:
                    yield key, values, tuple(cells[len(names) * width:])

    def values_in_order(self, i: int, names: list[str]) -> list[tuple[str, tuple]]:
        """(record id, values of `names`) of every compared record under policy i, in file order (small runs)."""
        q = exp.select(col(KEY, "c"), *[col(n, "r") for n in names]).from_(
            exp.to_table(f"main.{COMPARED}").as_("c")).join(
            self._results(i).as_("r"), on=exp.EQ(this=col(KEY, "c"), expression=col(KEY, "r"))).order_by(
            col(ORDER, "c"))
        return [(key, tuple(values)) for key, *values in self._sql(q).fetchall()]

    def summaries(self, i: int) -> dict[str, object]:
        """Every summary of policy i over the records compared (as `Engine.run` computes them)."""
        run = self.runs[i]
        run.use()
        compared = exp.select(exp.Star()).from_(exp.to_table("__final").as_("r")).where(exp.In(
            this=col(KEY, "r"), query=exp.Subquery(this=exp.select(col(KEY, None)).from_(f"main.{COMPARED}"))))
        run._table("__summarised", compared.where(exp.Is(this=col(ERROR, "r"), expression=exp.null())))
        return run.summaries("__summarised")

    def load(self, i: int, keys: set[str]) -> dict[str, dict]:
        """The input values of the records with these keys under policy i (for traces of a few records)."""
        return self.runs[i].load_some(keys)
