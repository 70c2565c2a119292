"""Running a compiled policy on DuckDB: read the files, validate, evaluate, write, report — in the database.

    batch = run_batch(policy, "data/jinyuan/secretaries.csv", related={}, as_of=None, out="out.csv")

1. DuckDB reads the CSV (or Parquet) file itself, every cell as text, numbering the non-blank rows as the row
   evaluator's reader does, and types each field by its strict canonical form (`inputs.typed_cell`).
2. Records with a cell in another form, a duplicate key or a related row that is not canonical are *suspects*:
   the Python reader streams the file once and the careful converter handles just those (exact messages; the
   ones it accepts are written back in canonical form and evaluated with the rest). JSON, JSONL and Excel files
   go through the Python converter whole and are then evaluated the same way.
3. One query evaluates every node of every record (`plan.PolicyPlan.evaluation`) into a temporary table; DuckDB
   writes the results file from it (COPY), then the errors and summaries are read from it.

A run that needs nothing from that table afterwards (a clean CSV file to a CSV results file, no related records, no
summaries) is first tried as one streaming COPY that stops at the first record steps 2–3 would set aside or report
(`DuckRun._stream`); only then is it done as above. Statement texts and plan verdicts of a policy loaded through the
compile cache are kept there (`policydsl.cache`).

Memory is bounded by DuckDB's limit (it spills to a temporary directory), not by the number of records; Python
holds only the suspects and the errors.
"""

from __future__ import annotations

import csv
import json
import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlglot import exp

from ... import ir
from ...limits import RAW_CELLS
from ...types import DURATION, TEXT, Duration, ListOf, RecordType
from .. import records as rec
from ..base import BatchResult, EngineUnavailable, EvaluationFailure, RowSink
from ..row import Result
from .compile import BY, ERROR, KEY, ORDER, Unsupported, cast, col, literal, text
from .inputs import blank, blank_row, canonical, scalar_fields, stripped, typed_cell
from .plan import RESULTS, PolicyPlan
from .streamed import (
    CSV_OPTIONS,
    Database,
    as_of_date,
    can_stream,
    duckdb_version,
    keys_key,
    statement_context,
    stream,
    stream_key,
)
from .streamed import csv_start as _csv_start
from .streamed import quoted_path as _quoted_path

NATIVE_SUFFIXES = (".csv", ".parquet")
#: A raw row with nothing under the header (it may hold cells beyond it: see `DuckRun._raw`).
BLANK = "__blank"
#: Operators of a DuckDB plan that may pass rows on out of the order they were read in (see DuckRun._may_reorder).
_REORDERING = re.compile(r"join|cross.product|group.by|(?<!streaming )window", re.IGNORECASE)  # a row number: in order


@dataclass
class _Input:
    """One file as the engine reads it: its path, the record type, the table its typed rows land in."""

    path: Path
    rtype: RecordType
    table: str
    by: str | None = None  # for related rows: the field linking them to their parent


def run_batch(policy: ir.Policy, records: str | Path, *, related: dict[str, str | Path], as_of: date | None,
              out: str | Path | None, on_row: RowSink | None, dialect: str = "duckdb",
              spark_master: str | None = None, streamed: bool = False) -> BatchResult:
    """Run a policy over a records file with the SQL engine (see the module docstring). `streamed`: the streamed
    pass already ran from the compile cache and stopped (`streamed.run_cached`), so the careful way is taken."""
    if dialect == "spark":
        from .spark import run_batch as run_spark
        return run_spark(policy, records, related=related, as_of=as_of, out=out, on_row=on_row,
                         master=spark_master)
    with DuckRun(policy, as_of_date(policy, as_of)) as run:
        return run.run(Path(records), {k: Path(v) for k, v in related.items()}, out, on_row, stream=not streamed)


class DuckRun:
    """One batch of one policy, in its own schema of a DuckDB database (its own database unless one is given)."""

    #: Whether an evaluated table may hold its rows out of the file's order (`_may_reorder`): written sorted then.
    joined = False

    def __init__(self, policy: ir.Policy, as_of: date, database: Database | None = None, schema: str = "main"):
        self.owned = database is None
        self.database = database or Database()
        self.duckdb = self.database.duckdb
        self.db = self.database.db
        self.policy = policy
        self.schema = schema
        try:
            self.plan = PolicyPlan(policy, as_of, "duckdb")
        except Unsupported as exc:
            if self.owned:
                self.database.close()
            raise EngineUnavailable(str(exc)) from None
        self.tmp = self.database.tmp
        self.folder = self.database.folder / schema
        self.folder.mkdir(exist_ok=True)
        self.db.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        self.use()

    def use(self) -> None:
        """Make this run's schema the current one (unqualified names are this run's tables)."""
        self.db.execute(f'USE "{self.schema}"')

    def __enter__(self) -> "DuckRun":
        return self

    def __exit__(self, *exc) -> None:
        if self.owned:
            self.database.close()

    def sql(self, e: exp.Expression):
        return self.db.execute(self.plan.sql(e))

    def execute(self, e: exp.Expression) -> None:
        self.db.execute(self.plan.sql(e))

    # -------------------------------------------------------------------------------------------- the run
    def run(self, records: Path, related: dict[str, Path], out: str | Path | None, on_row: RowSink | None,
            stream: bool = True) -> BatchResult:
        batch = BatchResult("duckdb")
        written = self._stream(records, related, out) if stream else None
        if written is not None:  # every record canonical and evaluated: nothing to set aside or report
            batch.ok_count = written
            return batch
        self.load_and_evaluate(records, related, batch)
        with self._reported(records):
            self._write(out, on_row)
            self._collect(batch)
        return batch

    #: The message of the guard that stops a streamed run (`_stream`) at the first record it cannot write.
    NOT_STREAMED = "policydsl: this run cannot be streamed"

    def _stream(self, records: Path, related: dict[str, Path], out: str | Path | None) -> int | None:
        """Read, check, evaluate and write a CSV results file in one streaming pass, without holding the evaluated
        records in a table; the number of results written, or None when this run cannot be streamed.

        The table (`load_and_evaluate`) exists so that suspects and duplicate keys are known before the first row
        is written. Here a first query reads only the key column and finds whether any key is written twice
        (`_keys_query`); then a guard stops DuckDB at the first record that is not canonical, a blank row or a
        record whose evaluation failed. Either sends the run the careful way, which writes the results file anew
        and reports exactly what it reports today. So a file with a bad record costs the streamed pass up to that
        record on top; a clean one (the usual case) saves materialising the evaluated records and a second scan
        of every column. Neither query numbers the rows or compares a row with the one before it, so DuckDB runs
        both on every core (`preserve_insertion_order` keeps the COPY's rows in the file's order); a subject
        without a key is numbered by its rows (its key is `#n`), which DuckDB does in order, on one core.

        Only for what needs no table afterwards: a CSV records file and results file, no related records, no
        summaries, no rule reading across records, and a plan that keeps the file's order."""
        subject = self.policy.subject
        if not (self.caches_statements and can_stream(self.policy, records, related, out)
                and not self.plan.reads_related and not self.plan.staged):
            return None
        rec._check_related_setup(records, subject, self.policy.records, related)
        self.inputs = self._inputs(records, related)
        item = self.inputs[""]
        safe = not RAW_CELLS.get()
        self._content = {}
        try:
            header, skip = _csv_start(records)
            rec._check_header(records, subject, [(str(records), dict.fromkeys(header, ""))])

            def build() -> str:
                guarded = self._guarded(item)
                types = {name: kind for name, kind, *_ in
                         self.db.execute("DESCRIBE " + self.plan.sql(guarded)).fetchall()}
                return self.plan.sql(self._unwidened(self.plan.output(guarded, ordered=False, csv_safe=safe,
                                                                      failed_left_out=False), types))
            # one statement, kept whole: the types DESCRIBE gave are DuckDB's for this text (its version is in
            # the key), so a repeated run binds the query once, to run it
            rows = self._remembered("stream", build, *stream_key(records, header, skip, safe,
                                                                 duckdb_version(self.duckdb)))
            if self._may_reorder(rows):
                return None
            keys = self._keys_query(item, header, skip) if subject.key else None
        except self.duckdb.Error:  # anything DuckDB cannot read: the careful way says
            return None
        return stream(self.db, self.duckdb, rows, keys, Path(out))

    def _keys_query(self, item: _Input, header: list[str], skip: int) -> str:
        """A query telling whether no key cell of `item`'s file is written twice, read from the key column alone
        (one parallel scan and a hash aggregate). The cells are compared as written: the streamed pass accepts a
        key only in canonical form (the cell is the key, stripped), so two records share a key exactly when they
        share the cell. Their 64-bit hashes are counted: two keys with one hash only send the run the careful way,
        which finds no duplicate and reports none; as many hashes as keys means as many keys."""
        def build() -> str:
            cell = col(item.rtype.key, None)
            distinct = exp.EQ(this=exp.Count(this=cell.copy()),
                              expression=exp.Count(this=exp.Distinct(expressions=[exp.func("HASH", cell.copy())])))
            names = [_column_name(h, i) for i, h in enumerate(header)]
            if len({n.lower() for n in names}) == len(names):  # the file's own reader, the key column alone
                rows = exp.select(cell.copy()).from_(_csv_source(item.path, header, skip))
            else:  # columns DuckDB renames (their names differ only in case): as `_raw` reads them
                rows = self._raw(item, numbered=False)
            return self.plan.sql(exp.select(distinct).from_(exp.Subquery(
                this=rows, alias=exp.TableAlias(this=exp.to_identifier("f")))))
        return self._remembered("stream-keys", build, *keys_key(item.path, header, skip))

    def _guarded(self, item: _Input) -> exp.Select:
        """The evaluated records of `item`'s file, stopping DuckDB (ERROR) at the first one `_stream` cannot write
        (duplicate keys are `_keys_query`'s)."""
        keyed = self.policy.subject.key is not None  # else the record's key is its row number: `#n`
        typed = self._typed(item, self._raw(item, numbered=not keyed))
        ok = [col("__ok", None), exp.not_(col(BLANK, None)), exp.Is(this=col(ERROR, None), expression=exp.null())]
        keep = self._kept(False)
        # The guard is the key column itself (every results file writes the key), not a WHERE: DuckDB pushes a
        # filter down through the projections below it, computing again there what they compute
        stop = exp.func("ERROR", text(self.NOT_STREAMED))
        guarded_key = exp.Case(ifs=[exp.If(this=exp.and_(*ok), true=col(KEY, None))], default=stop)
        evaluated = self.plan.evaluation(typed, keep=keep)
        names = list(dict.fromkeys([ORDER, KEY, *keep, ERROR]))
        columns = [exp.alias_(guarded_key, KEY, quoted=True) if n == KEY else col(n, None) for n in names]
        return exp.select(*columns).from_(exp.Subquery(this=evaluated, alias=exp.TableAlias(
            this=exp.to_identifier("e"))))

    @contextmanager
    def _reported(self, records: Path):
        """A DuckDB failure while evaluating (a value beyond DECIMAL(38) or BIGINT, say) in words, not a traceback."""
        try:
            yield
        except self.duckdb.Error as exc:
            reason = str(exc).splitlines()[0]
            raise EngineUnavailable(f"{records}: the duckdb engine could not evaluate these records ({reason}); "
                                    "--engine row evaluates them without that limit") from None

    def load_and_evaluate(self, records: Path, related: dict[str, Path], batch: BatchResult,
                          keep: bool = False) -> None:
        """Read, validate and evaluate every record (bad records go to `batch`); `keep` stores the evaluated
        records in the table `__final` for queries across runs (comparisons)."""
        subject = self.policy.subject
        rec._check_related_setup(records, subject, self.policy.records, related)
        self.inputs = inputs = self._inputs(records, related)
        native = all(item.path.suffix.lower() in NATIVE_SUFFIXES for item in inputs.values())
        with self._reported(records):
            if not (native and self._evaluate_native(inputs, batch)):
                self._evaluate_through_python(inputs, batch)
            if keep:
                self._table("__final", exp.select(exp.Star()).from_(RESULTS))

    def load_some(self, keys: set[str] | None) -> dict[str, dict]:
        """The converted input values of the records with these keys (the Python converter, for a few records;
        every record when `keys` is None)."""
        subject = self.inputs[""]
        related = self._related_rows({k: v for k, v in self.inputs.items() if k}, keys)
        found = {}
        for number, (where, raw) in enumerate(rec.read_rows(subject.path), start=1):
            key = rec._record_id(raw, self.policy.subject, number) if isinstance(raw, dict) else None
            if (keys is None or key in keys) and key not in found:
                record, errors = rec.convert_record(raw, self.policy.subject, self.policy.records, where, related,
                                                    row_number=number)
                if record is not None:
                    found[key] = record.values
        return found

    def _related_rows(self, relations: dict[str, _Input], keys: set[str]) -> rec.Related:
        related: rec.Related = {}
        for name, item in relations.items():
            groups: dict[str, list] = {}
            by = self.policy.subject.field(name).by
            for where, raw in rec.read_rows(item.path):
                k = rec._key_text(raw.get(by)) if isinstance(raw, dict) else None
                if k is not None and (keys is None or k in keys):
                    groups.setdefault(k, []).append((where, raw))
            related[name] = groups
        return related

    def _inputs(self, records: Path, related: dict[str, Path]) -> dict[str, _Input]:
        inputs = {"": _Input(records, self.policy.subject, "__subject")}
        for name, ftype in self.policy.subject.fields:
            if isinstance(ftype, ListOf):
                inputs[name] = _Input(related.get(name, Path()), self.policy.records[ftype.element],
                                      f"__file_{name}", ftype.by)
        return inputs

    def _table(self, name: str, query: exp.Expression, kind: str = "TABLE") -> None:
        self._create(name, self._create_sql(name, query, kind), kind)

    def _create_sql(self, name: str, query: exp.Expression, kind: str = "TABLE") -> str:
        return self.plan.sql(exp.Create(this=exp.to_table(name), kind=kind, expression=query))

    def _create(self, name: str, statement: str, kind: str = "TABLE") -> None:
        self.db.execute(f'DROP {kind} IF EXISTS "{name}"')
        self.db.execute(statement)

    def _point_relations(self, inputs: dict[str, _Input], suffix: str) -> None:
        """The views aggregates read (`__rel_<field>`): the file's canonical rows, or the accepted suspects'."""
        for name, item in inputs.items():
            if name:
                source = exp.select(exp.Star()).from_(exp.to_table(item.table + suffix))
                self._table(f"__rel_{name}", source.where(col("__ok", None)), kind="VIEW")

    def _evaluate_into(self, table: str, records: exp.Expression, everything: bool = False) -> None:
        # the statement's text is built once: DuckDB plans it for `_may_reorder`, then runs it
        self._run_evaluation(table, self._create_sql(table, self.plan.evaluation(records, keep=self._kept(everything))))

    def _run_evaluation(self, table: str, statement: str) -> None:
        if self._may_reorder(statement):
            self.joined = True
        self._create(table, statement)

    #: Whether compiled statements may come from the compile cache (`_remembered`); the Spark runner builds its own.
    caches_statements = True

    def _remembered(self, kind: str, build, *key: object):
        """`build()` (a statement's text, or a tuple of texts), or what it gave before for the same policy (by its
        content digest), as-of date, dialect, schema and `key`: everything the statement is built from."""
        from ... import cache
        digest = cache.policy_digest(self.policy) if self.caches_statements else None
        if digest is None:
            return build()
        context = statement_context(digest, self.plan.as_of, self.plan.dialect.name, self.schema, kind, key)
        known = cache.lookup("statement", context)
        if known is not None and _texts(known):
            return known
        value = build()
        cache.store("statement", context, value)
        return value

    def _may_reorder(self, statement: str) -> bool:
        """Whether DuckDB's plan for `statement` (a query, or a CREATE TABLE … AS query) has an operator that may
        pass rows on out of the order it read them (a join — DuckDB runs an IN list of five or more constants as
        one —, a grouping, a window): the results are then sorted by file position; a plan of scans and projections
        keeps the file's order. (EXPLAIN only plans.) The answer depends only on the text and DuckDB's version, so
        the compile cache keeps it: a repeated run does not plan the query twice."""
        from ... import cache
        version = getattr(self.duckdb, "__version__", "?")
        known = cache.lookup("reorder", statement, version)
        if isinstance(known, bool):
            return known
        plan = "\n".join(str(cell) for row in self.db.execute("EXPLAIN " + statement).fetchall() for cell in row)
        found = bool(_REORDERING.search(plan))
        cache.store("reorder", statement, found, version)
        return found

    def _kept(self, everything: bool) -> list[str]:
        """The columns an evaluated table keeps: every field and node, or what the output and summaries read."""
        values = list(self.policy.subject.field_names) + self.plan.order if everything else (
            [c.name for c in self.plan.output_columns()[1:]] + self.plan.summary_columns())
        return list(dict.fromkeys(["__ok", BLANK] + values))

    def evaluate_records(self, records: list[tuple[str, dict]]) -> list[Result]:
        """Every field and node value of each record given in runtime form (examples, differential tests)."""
        relations = {k: v for k, v in self._inputs(Path(), {}).items() if k}
        accepted = _CanonicalWriter(self.folder, self.policy, relations)
        for number, (record_id, values) in enumerate(records, start=1):
            accepted.add(number, rec.InputRecord(record_id, "", values))
        accepted.close()
        self._load_accepted(accepted, _Input(Path(), self.policy.subject, "__subject"), relations)
        self._point_relations(relations, "_accepted")
        self._evaluate_into("__evaluated", exp.select(exp.Star()).from_("__subject_accepted"), everything=True)
        names = [n for n in list(self.policy.subject.field_names) + self.plan.order
                 if not isinstance(self.policy.subject.field(n), ListOf)]
        query = exp.select(col(ERROR, None), *[col(n, None) for n in names]).from_("__evaluated").order_by(
            col(ORDER, None))
        durations = {n for n in names if self._type_of(n) == DURATION}
        results = []
        for (record_id, values), (error, *row) in zip(records, self.sql(query).fetchall()):
            if error is not None:
                results.append(Result(record_id, {}, error=error))
                continue
            found = dict(zip(names, row))
            for n in durations:  # a STRUCT comes back as a dict
                found[n] = Duration(found[n]["months"], found[n]["days"]) if found[n] is not None else None
            results.append(Result(record_id, {**values, **found}))
        return results

    def _type_of(self, name: str):
        node = self.policy.nodes.get(name)
        return node.type if node is not None else self.policy.subject.field(name)

    # -------------------------------------------------------------------------------------------- reading
    def _raw(self, item: _Input, numbered: bool = True) -> exp.Select:
        """Every row of the file the Python reader counts, every cell as text, numbered from 1 as it numbers them
        (`numbered`; else their number is NULL: DuckDB numbers rows in order, on one core).

        DuckDB reads a CSV row's cells up to the header's last column and drops the rest, so a row whose cells
        under the header are all blank may still hold something beyond them, and the Python reader then reports
        it as a record. Such rows are kept and flagged `__blank` until `_resolve_blank_rows` has asked the Python
        reader which of them hold something: `self._content[item.table]` then lists those (by their position
        among the rows DuckDB reads), and the other flagged rows are left out.
        """
        path = item.path
        if path.suffix.lower() == ".parquet":  # every cell of the row is read: blank means blank
            parts = exp.Array(expressions=[text(str(p)) for p in rec.parquet_parts(path)])
            source = exp.func("READ_PARQUET", parts)
            cast_all = True
        else:
            header, skip = _csv_start(path)
            rec._check_header(path, item.rtype, [(str(path), dict.fromkeys(header, ""))]) if item.by is None else None
            source = _csv_source(path, header, skip)
            cast_all = False
        named = [_column_name(h, i) for i, h in enumerate(header)] if not cast_all else []
        # the columns as declared, unless DuckDB (whose names ignore case) would rename one: then as it reads them
        self._columns = named if named and len({n.lower() for n in named}) == len(named) else \
            self._file_columns(source)
        cells = [exp.alias_(cast(col(c, None), "VARCHAR") if cast_all else col(c, None), c, quoted=True)
                 for c in self._columns]
        empty = blank_row([cast(col(c, None), "VARCHAR") for c in self._columns])
        if cast_all:
            rows = exp.select(*cells, exp.false().as_(BLANK)).from_(source).where(exp.not_(empty))
        elif item.table not in self._content:
            rows = exp.select(*cells, exp.alias_(empty, BLANK)).from_(source)
        else:
            return self._kept_rows(source, cells, empty, self._content[item.table])
        number = exp.Window(this=exp.RowNumber()) if numbered else cast(exp.null(), "BIGINT")
        return exp.select(exp.alias_(number, ORDER, quoted=True), exp.Star()).from_(
            exp.Subquery(this=rows, alias=exp.TableAlias(this=exp.to_identifier("f"))))

    def _kept_rows(self, source: exp.Expression, cells: list[exp.Expression], empty: exp.Expression,
                   content: set[int]) -> exp.Select:
        """The rows of `source` with a cell under the header, and the others at the positions in `content` (rows
        with something beyond the header), numbered from 1 in the file's order."""
        line = exp.alias_(exp.Window(this=exp.RowNumber()), "__line", quoted=True)
        lines = exp.select(line, *cells, exp.alias_(exp.not_(empty), "__filled")).from_(source)
        kept = col("__filled", None)
        if content:
            kept = exp.or_(kept, exp.In(this=col("__line", None),
                                        expressions=[exp.Literal.number(n) for n in sorted(content)]))
        order = exp.Window(this=exp.RowNumber(), order=exp.Order(expressions=[exp.Ordered(this=col("__line", None))]))
        return exp.select(exp.alias_(order, ORDER, quoted=True), *[col(c, None) for c in self._columns],
                          exp.false().as_(BLANK)).from_(
            exp.Subquery(this=lines, alias=exp.TableAlias(this=exp.to_identifier("f")))).where(kept)

    def _file_columns(self, source: exp.Expression) -> list[str]:
        return [d[0] for d in self.db.execute(self.plan.sql(exp.select(exp.Star()).from_(source).limit(0))).description]

    def _typed(self, item: _Input, raw: exp.Expression, canonical: bool = False) -> exp.Select:
        """The typed fields, `__key`/`__by`, and `__ok` (every cell canonical) of each raw row.

        Two projections: the inner one converts each cell once, the outer one checks each value against its cell.
        """
        present = set(self._columns)
        inner, cells, oks = [], [], []
        for index, (name, t) in enumerate(scalar_fields(item.rtype)):
            raw_cell = col(name, "w") if name in present else exp.null()
            value, _ = typed_cell(raw_cell, t, empty_text=canonical)
            optional = name in item.rtype.optional
            if optional:  # an empty cell of an optional field is NULL: the record has no value there
                value = exp.Case(ifs=[exp.If(this=blank(raw_cell.copy()), true=exp.null())], default=value)
            inner += [exp.alias_(raw_cell.copy(), f"__raw{index}", quoted=True), exp.alias_(value, name, quoted=True)]
            _, ok = typed_cell(col(f"__raw{index}", "v"), t, empty_text=canonical, value=col(name, "v"))
            if name == item.rtype.key and t == TEXT and not canonical and name in present:
                # the key is the cell stripped (NULL when empty): equal to the cell exactly when the cell is
                # canonical text (not empty, no outer whitespace), so its whitespace is not tested twice
                ok = exp.EQ(this=col(KEY, "v"), expression=col(f"__raw{index}", "v"))
            bounds = item.rtype.bounds_of(name)
            if bounds:  # a value outside the declared range: the careful path reports it
                low, high = (literal(b, t).value for b in bounds)
                ok = exp.and_(ok, exp.Between(this=col(name, "v"), low=low, high=high))
            if optional:
                ok = exp.or_(blank(col(f"__raw{index}", "v")), ok)
            cells.append(col(name, "v"))
            oks.append(ok)
        key_field = item.rtype.key
        key = stripped(col(key_field, "w")) if key_field and key_field in present else exp.null()
        if key_field is None and item.by is None:
            key = exp.DPipe(this=text("#"), expression=cast(col(ORDER, "w"), "VARCHAR"), safe=True)
        extra = [exp.alias_(exp.func("NULLIF", key, text("")), KEY, quoted=True)]
        if item.by is not None:
            by = stripped(col(item.by, "w")) if item.by in present else exp.null()
            extra.append(exp.alias_(exp.func("NULLIF", by, text("")), BY, quoted=True))
        flag = exp.false().as_(BLANK) if canonical else col(BLANK, "w")
        converted = exp.select(col(ORDER, "w"), flag, *extra, *inner).from_(
            exp.Subquery(this=raw, alias=exp.TableAlias(this=exp.to_identifier("w"))))
        ok = exp.and_(*oks) if oks else exp.true()
        outer = [col(ORDER, "v"), col(BLANK, "v"), col(KEY, "v")] + ([col(BY, "v")] if item.by is not None else [])
        return exp.select(*outer, *cells, exp.alias_(exp.func("COALESCE", ok, exp.false()), "__ok")).from_(
            exp.Subquery(this=converted, alias=exp.TableAlias(this=exp.to_identifier("v"))))

    def _evaluate_native(self, inputs: dict[str, _Input], batch: BatchResult) -> bool:
        """One pass over the records file evaluates every record; False when DuckDB cannot read a file as the
        Python reader does (then the Python reader either explains why or reads it)."""
        self._content: dict[str, set[int]] = {}
        try:
            self._read_and_evaluate(inputs)
            flagged = self._blank_rows(inputs)
            if flagged:  # rows with nothing under the header: the Python reader says which hold something
                if not self._resolve_blank_rows(inputs, flagged):
                    return False
                self._read_and_evaluate(inputs)
        except self.duckdb.Error:
            for item in inputs.values():
                for _ in rec.read_rows(item.path):  # raises the reader's own message, if it has one
                    pass
            return False
        accepted = self._resolve_suspects(inputs, batch)
        suspects = self.db.execute("SELECT count(*) FROM __suspect").fetchone()[0]
        good = exp.select(exp.Star()).from_("__evaluated").where(col("__ok", None))
        if suspects:
            good = good.where(exp.Not(this=exp.In(this=col(ORDER, None), query=exp.Subquery(
                this=exp.select(col(ORDER, None)).from_("__suspect")))))
        if self.plan.staged:
            self._evaluate_standing(inputs, good, accepted)
            return True
        if accepted:
            good = exp.union(good, exp.select(exp.Star()).from_("__evaluated_accepted"), distinct=False)
        self._table(RESULTS, good, kind="VIEW")
        # A plain scan and filter keep the file's order; a join (suspects left out, related records) may not.
        self.reorder = bool(suspects) or self.plan.reads_related
        return True

    def _read_and_evaluate(self, inputs: dict[str, _Input]) -> None:
        """The related files' typed rows, then every record evaluated into `__evaluated`."""
        for name, item in inputs.items():
            if name:
                self._table(item.table, self._typed(item, self._raw(item)))
        self._point_relations(inputs, "")
        subject = inputs[""]
        if self.plan.staged:  # evaluated later, once every record is known (suspects included)
            self._table("__evaluated", self._typed(subject, self._raw(subject)))
        elif self.caches_statements and subject.path.suffix.lower() == ".csv":
            header, skip = _csv_start(subject.path)  # what the statement is built from: the file's path and header
            rec._check_header(subject.path, subject.rtype, [(str(subject.path), dict.fromkeys(header, ""))])

            def build() -> tuple[str, list[str]]:
                records = self._typed(subject, self._raw(subject))
                return self._create_sql("__evaluated", self.plan.evaluation(records, keep=self._kept(False))), \
                    self._columns
            statement, self._columns = self._remembered(
                "evaluate", build, str(subject.path), tuple(header), skip,
                tuple(sorted(self._content[subject.table])) if subject.table in self._content else None)
            self._run_evaluation("__evaluated", statement)
        else:
            self._evaluate_into("__evaluated", self._typed(subject, self._raw(subject)))

    def _blank_rows(self, inputs: dict[str, _Input]) -> dict[str, set[int]]:
        """For each input with some, the positions of its rows flagged `__blank` (see `_raw`)."""
        found = {}
        for name, item in inputs.items():
            table = item.table if name else "__evaluated"
            q = exp.select(col(ORDER, None)).from_(exp.to_table(table)).where(col(BLANK, None))
            rows = {n for (n,) in self.sql(q).fetchall()}
            if rows:
                found[name] = rows
        return found

    def _resolve_blank_rows(self, inputs: dict[str, _Input], flagged: dict[str, set[int]]) -> bool:
        """Which flagged rows hold something beyond the header, by the Python reader (into `self._content`);
        False when DuckDB did not read the same rows as the Python reader (the run then goes through Python)."""
        for name, rows in flagged.items():
            item = inputs[name]
            table = item.table if name else "__evaluated"
            (count,) = self.sql(exp.select(exp.Count(this=exp.Star())).from_(exp.to_table(table))).fetchone()
            python_count, python_blank = _csv_blank_rows(item.path)
            if python_count != count or not python_blank <= rows:
                return False
            self._content[item.table] = rows - python_blank
        return True

    def _evaluate_standing(self, inputs: dict[str, _Input], good: exp.Select, accepted: bool) -> None:
        """A policy whose rules read across records: the canonical records and the suspects the converter accepted
        are evaluated together, so that every record takes part in the same ranks, totals and pools."""
        records: exp.Expression = good
        if accepted:
            records = exp.union(good, exp.select(exp.Star()).from_("__subject_accepted"), distinct=False)
            self._merge_relations(inputs)
        self._evaluate_into("__evaluated_all", records)
        self._table(RESULTS, exp.select(exp.Star()).from_("__evaluated_all"), kind="VIEW")
        self.reorder = True  # windows do not keep the file's order

    def _merge_relations(self, inputs: dict[str, _Input]) -> None:
        """The related rows of every record evaluated: the file's, but the suspects' as the converter accepted them."""
        suspects = exp.select(col(KEY, None)).from_("__suspect").where(
            exp.Not(this=exp.Is(this=col(KEY, None), expression=exp.null())))
        for name, item in inputs.items():
            if not name:
                continue
            native = exp.select(exp.Star()).from_(exp.to_table(item.table)).where(exp.and_(
                col("__ok", None), exp.Not(this=exp.In(this=col(BY, None), query=exp.Subquery(this=suspects.copy())))))
            converted = exp.select(exp.Star()).from_(exp.to_table(item.table + "_accepted")).where(col("__ok", None))
            self._table(f"__rel_{name}", exp.union(native, converted, distinct=False), kind="VIEW")

    # -------------------------------------------------------------------------------------------- suspects
    def _resolve_suspects(self, inputs: dict[str, _Input], batch: BatchResult) -> bool:
        """Hand the records SQL did not accept to the Python converter; True if it accepted some of them."""
        subject = inputs[""]
        relations = {k: v for k, v in inputs.items() if k}
        bad_parents = [exp.select(col(BY, None)).from_(exp.to_table(r.table)).where(
            exp.Not(this=col("__ok", None))) for r in relations.values()]
        known = exp.Not(this=exp.Is(this=col(KEY, None), expression=exp.null()))
        dup_keys = exp.select(col(KEY, None)).from_("__evaluated").where(known).group_by(col(KEY, None)).having(
            exp.GT(this=exp.Count(this=exp.Star()), expression=exp.Literal.number(1)))
        suspect = exp.or_(exp.Not(this=col("__ok", None)),
                          exp.In(this=col(KEY, None), query=exp.Subquery(this=dup_keys)),
                          *[exp.In(this=col(KEY, None), query=exp.Subquery(this=q)) for q in bad_parents])
        self._table("__suspect", exp.select(col(ORDER, None), col(KEY, None)).from_("__evaluated").where(suspect))
        rows = {r for (r,) in self.db.execute("SELECT __row FROM __suspect").fetchall()}
        orphans = self._orphans(subject, relations)
        accepted = self._convert_suspects(subject, relations, rows, batch) if rows else 0
        batch.data_errors.extend(orphans)
        if accepted and not self.plan.staged:
            self._point_relations(inputs, "_accepted")
            self._evaluate_into("__evaluated_accepted", exp.select(exp.Star()).from_("__subject_accepted"))
        return bool(accepted)

    def _orphans(self, subject: _Input, relations: dict[str, _Input]) -> list[rec.DataError]:
        """Related rows that belong to no record (reported by the Python reader's own words)."""
        found = []
        for name, item in relations.items():
            parents = exp.select(col(KEY, None)).from_("__evaluated").where(
                exp.Not(this=exp.Is(this=col(KEY, None), expression=exp.null())))
            q = exp.select(col(ORDER, None)).from_(exp.to_table(item.table)).where(exp.or_(
                exp.Is(this=col(BY, None), expression=exp.null()),
                exp.Not(this=exp.In(this=col(BY, None), query=exp.Subquery(this=parents)))))
            numbers = {r for (r,) in self.sql(q).fetchall()}
            if not numbers:
                continue
            self._localize(item)
            ftype = self.policy.subject.field(name)
            for number, (where, raw) in enumerate(rec.read_rows(item.path), start=1):
                if number in numbers:
                    found.append(rec._orphan(where, raw, item.rtype, ftype.by, self.policy.subject, number))
        return found

    def _localize(self, item: _Input) -> None:
        """Make `item.path` a file the Python reader can stream: DuckDB reads local files, so it already is (the
        Spark runner copies a remote file to the driver here)."""

    def _convert_suspects(self, subject: _Input, relations: dict[str, _Input], rows: set[int],
                          batch: BatchResult) -> int:
        """The careful converter on the suspect records only; accepted ones are written back canonically."""
        keys = {k for (k,) in self.db.execute("SELECT __key FROM __suspect WHERE __key IS NOT NULL").fetchall()}
        related = self._related_rows(relations, keys)
        first_seen: dict[str, str] = {}
        accepted = _CanonicalWriter(self.folder, self.policy, relations)
        for number, (where, raw) in enumerate(rec.read_rows(subject.path), start=1):
            if number not in rows:
                continue
            record, errors = rec.convert_record(raw, self.policy.subject, self.policy.records, where, related,
                                                row_number=number)
            errors += rec._duplicate_key(raw, self.policy.subject, where, first_seen)
            if errors:
                batch.data_errors.extend(errors)
                batch.failed_ids.append(errors[0].record_id)
            else:
                accepted.add(number, record)
        accepted.close()
        if accepted.count:
            self._load_accepted(accepted, subject, relations)
        return accepted.count

    def _load_accepted(self, accepted: "_CanonicalWriter", subject: _Input, relations: dict[str, _Input]) -> None:
        """The records Python accepted, read back from their canonical text; a value SQL cannot hold (an integer
        beyond 64 bits, a number beyond 28 digits) stops the run with the record named."""
        self._load_canonical(accepted, subject, relations)
        for name, item in [("", subject)] + list(relations.items()):
            link = KEY if not name else BY
            bad = self.db.execute(f'SELECT "{link}" FROM "{item.table}_accepted" WHERE NOT __ok LIMIT 1').fetchone()
            if bad:
                where = f"record {bad[0]}" + (f" (its {name} rows)" if name else "")
                raise EngineUnavailable(f"{item.path if not name else subject.path}: {where} holds a value the "
                                        "duckdb engine cannot hold (an integer beyond 19 digits or a number beyond "
                                        "28 digits before the point); --engine row evaluates it")

    def _load_canonical(self, accepted: "_CanonicalWriter", subject: _Input, relations: dict[str, _Input]) -> None:
        for name, item in [("", subject)] + list(relations.items()):
            path = accepted.paths[name]
            canonical_item = _Input(path, item.rtype, item.table + "_accepted", item.by)
            raw = exp.select(exp.Star()).from_(_read_csv(path, header=True, all_varchar=True, delim=",", quote='"',
                                                         allow_quoted_nulls=False))
            self._columns = [ORDER] + [n for n, _ in scalar_fields(item.rtype)]
            typed = self._typed(canonical_item, exp.select(cast(col(ORDER, None), "BIGINT").as_(ORDER),
                                                           *[col(n, None) for n in self._columns[1:]]).from_(
                exp.Subquery(this=raw, alias=exp.TableAlias(this=exp.to_identifier("c")))), canonical=True)
            self._table(canonical_item.table, typed)

    # -------------------------------------------------------------------------------------------- through Python
    def _evaluate_through_python(self, inputs: dict[str, _Input], batch: BatchResult) -> None:
        """JSON, JSONL, Excel (or a CSV DuckDB cannot read as written): converted by Python, then evaluated."""
        related = {k: v.path for k, v in inputs.items() if k and v.path != Path()}
        relations = {k: v for k, v in inputs.items() if k}
        accepted = _CanonicalWriter(self.folder, self.policy, relations)
        # streamed, as load_records would read it: a big CSV with one malformed row is not held in memory
        stream = rec.RecordStream(inputs[""].path, self.policy.subject, self.policy.records, related)
        names = self.policy.subject.field_names
        number = 0
        for record_id, values in stream:
            if values is not None:
                number += 1
                accepted.add(number, rec.InputRecord(record_id, "", dict(zip(names, values))))
        batch.data_errors.extend(stream.errors)
        batch.failed_ids.extend(stream.failed_ids)
        accepted.close()
        self._load_accepted(accepted, inputs[""], relations)
        self._point_relations(inputs, "_accepted")
        self._evaluate_into("__evaluated", exp.select(exp.Star()).from_("__subject_accepted"))
        self._table(RESULTS, exp.select(exp.Star()).from_("__evaluated").where(col("__ok", None)), kind="VIEW")
        self.reorder = self.plan.reads_related or self.plan.staged

    # -------------------------------------------------------------------------------------------- writing
    def _write(self, out: str | Path | None, on_row: RowSink | None) -> None:
        if out is None:
            if on_row is not None:
                result = self.sql(self.plan.output(ordered=self.reorder or self.joined))
                on_row(tuple(c.name for c in self.plan.output_columns()))
                while chunk := result.fetchmany(10000):
                    for row in chunk:
                        on_row(tuple("" if v is None else v for v in row))
            return
        out = Path(out)
        suffix = out.suffix.lower()
        if suffix == ".csv":
            safe = not RAW_CELLS.get()
            ordered = self.reorder or self.joined
            types = self._result_types()

            def rows_sql(ordered: bool) -> str:
                return self._remembered("output-csv", lambda: self.plan.sql(self._unwidened(
                    self.plan.output(ordered=ordered, csv_safe=safe), types)), ordered, safe, tuple(types.items()))
            rows = rows_sql(ordered)
            if not ordered and self._may_reorder(rows):
                rows = rows_sql(True)
            self.db.execute(f"COPY ({rows}) TO '{_quoted_path(out)}' {CSV_OPTIONS}")
        elif suffix == ".parquet":
            query = self.plan.sql(self.plan.output(typed=True, ordered=self.reorder or self.joined))
            self.db.execute(f"COPY ({query}) TO '{_quoted_path(out)}' (FORMAT parquet)")
        elif suffix == ".jsonl":
            # One text column of JSON objects, written without quoting: TO_JSON escapes every control character,
            # so no line holds a raw newline or the (unused) \x01 delimiter.
            self.db.execute(f"COPY ({self.plan.sql(self.plan.output_json_lines(ordered=self.reorder or self.joined))}) TO "
                            f"'{_quoted_path(out)}' (FORMAT csv, HEADER false, QUOTE '', ESCAPE '', DELIMITER '\x01')")
        else:
            self._write_json(out, suffix)

    def _result_types(self, table: str = RESULTS) -> dict[str, str]:
        return {name: kind for name, kind, *_ in self.db.execute(f'DESCRIBE "{table}"').fetchall()}

    def _unwidened(self, query: exp.Select, types: dict[str, str]) -> exp.Select:
        """The CSV rows without widening a two-place decimal column to DECIMAL(38, 2) (done for Parquet's typed
        columns): a CSV cell holds the same digits at any precision, and DuckDB writes a 64-bit decimal about twice
        as fast as a 128-bit one. `types`: the results' column types (`_result_types`). Only the rows' own cells
        are looked at, not the query they read from (which may be a subquery holding casts of its own)."""
        for node in [n for cell in query.expressions for n in cell.find_all(exp.Cast)]:
            inner = node.this
            if (isinstance(inner, exp.Column) and node.to.sql("duckdb") == "DECIMAL(38, 2)"
                    and re.fullmatch(r"DECIMAL\(\d+,2\)", types.get(inner.name, ""))):
                node.replace(inner.copy())
        return query

    def _write_json(self, out: Path, suffix: str) -> None:
        """JSON and JSONL as `records.write_results` writes them (same bytes)."""
        columns = self.plan.output_columns()
        types = {c.name: c.type for c in columns}
        result = self.sql(self.plan.output(typed=True, ordered=self.reorder or self.joined))
        names = [c.name for c in columns]
        with open(out, "w", encoding="utf-8", newline="") as f:
            first = True
            if suffix == ".json":
                f.write("[")
            while chunk := result.fetchmany(10000):
                for row in chunk:
                    item = rec._json_row(dict(zip(names, row)), types)
                    if suffix == ".jsonl":
                        f.write(json.dumps(item, ensure_ascii=False) + "\n")
                    else:
                        body = json.dumps(item, ensure_ascii=False, indent=2).replace("\n", "\n  ")
                        f.write(("\n  " if first else ",\n  ") + body)
                    first = False
            if suffix == ".json":
                f.write("\n]\n" if not first else "]\n")

    # -------------------------------------------------------------------------------------------- reporting
    def _collect(self, batch: BatchResult) -> None:
        failures = self.db.execute(f'SELECT "{KEY}", "{ERROR}" FROM {RESULTS} WHERE "{ERROR}" IS NOT NULL '
                               f'ORDER BY "{ORDER}"').fetchall()
        batch.evaluation_failures.extend(EvaluationFailure(k, m) for k, m in failures)
        (batch.ok_count,) = self.db.execute(f'SELECT count(*) FROM {RESULTS} WHERE "{ERROR}" IS NULL').fetchone()
        batch.summaries = self.summaries(RESULTS)

    def summaries(self, records_table: str) -> dict[str, object]:
        """Every summary over the rows of `records_table` (in dependency order; reported in file order)."""
        computed: dict[str, object] = {}
        for name in self.policy.summaries:
            table = self._standing_at(name, records_table) if self.plan.staged else records_table
            query, _ = self.plan.summary(name, computed, table)
            try:
                value, error = self.sql(query).fetchone()
            except self.duckdb.Error as exc:
                value, error = None, str(exc)
            computed[name] = f"error: {error}" if error is not None else value
        in_file_order = sorted(computed, key=lambda n: self.policy.summaries[n].span.line)
        return {n: computed[n] for n in in_file_order}

    def _standing_at(self, summary: str, records_table: str) -> str:
        """A view of `records_table` where the records that had failed when `summary` was computed (in its pass)
        count as failed: a summary covers the records standing then, as the row engine computes it."""
        p = self.plan.program.summary_stage[summary]
        view = f"{records_table}_st{p}"
        standing = exp.Case(ifs=[exp.If(this=col(f"__st{p}", None), true=exp.null())], default=text("failed"))
        columns = [col(ORDER, None)] + [col(n, None) for n in self.plan.summary_columns()]
        self._table(view, exp.select(*columns, exp.alias_(cast(standing, "VARCHAR"), ERROR, quoted=True)).from_(
            exp.to_table(records_table)), kind="VIEW")
        return view


def _texts(value: object) -> bool:
    """Whether a cached value has the shape of what `_remembered` stores: a text, or a tuple of texts and lists of
    texts (anything else in the cache folder is not ours and is rebuilt)."""
    if isinstance(value, str):
        return True
    return isinstance(value, tuple) and all(isinstance(v, str) or isinstance(v, list) and
                                            all(isinstance(x, str) for x in v) for v in value)


def evaluate_example(policy: ir.Policy, records: list[tuple[str, dict]], as_of: date | None = None,
                     dialect: str = "duckdb") -> tuple[list[Result], dict[str, object]]:
    """The records of one example evaluated together on a SQL engine (every field and node value of each, or its
    error) and the summaries over them: what an example with several records, or with expected summaries, checks."""
    if dialect == "spark":
        from .spark import evaluate_example as on_spark
        return on_spark(policy, records, as_of)
    with DuckRun(policy, as_of_date(policy, as_of)) as run:
        results = run.evaluate_records(records)
        return results, run.summaries("__evaluated") if policy.summaries else {}


def evaluate_records(policy: ir.Policy, records: list[tuple[str, dict]], as_of: date | None = None,
                     dialect: str = "duckdb") -> list[Result]:
    """Evaluate records given in runtime form (as `row.Engine.all_values` takes them) on a SQL engine: every field
    and node value of each, or its error — what examples and the differential tests compare with the row evaluator."""
    if dialect == "spark":
        from .spark import evaluate_records as on_spark
        return on_spark(policy, records, as_of)
    with DuckRun(policy, as_of_date(policy, as_of)) as run:
        return run.evaluate_records(records)


class _CanonicalWriter:
    """Records the Python converter accepted, written in canonical CSV for the SQL reader (subject + related)."""

    def __init__(self, folder: Path, policy: ir.Policy, relations: dict[str, _Input]):
        self.policy = policy
        self.paths = {"": folder / "accepted.csv", **{n: folder / f"accepted_{i}.csv"
                                                    for i, n in enumerate(relations)}}
        self.files = {n: open(p, "w", encoding="utf-8", newline="") for n, p in self.paths.items()}
        # Every cell quoted: an empty text (examples may give one) reads back as '', not as a missing cell.
        self.writers = {n: csv.writer(f, lineterminator="\n", quoting=csv.QUOTE_ALL) for n, f in self.files.items()}
        self.types = {"": policy.subject, **{n: r.rtype for n, r in relations.items()}}
        self.links = {n: r.by for n, r in relations.items()}
        self.related_rows = 0
        self.count = 0
        for n, w in self.writers.items():
            w.writerow([ORDER] + [f for f, _ in scalar_fields(self.types[n])])

    def add(self, number: int, record: rec.InputRecord) -> None:
        subject = self.types[""]
        self.count += 1
        key = subject.key
        link = canonical(record.values[key], subject.field(key)) if key else f"#{number}"
        self.writers[""].writerow([number] + [canonical(record.values[f], t) for f, t in scalar_fields(subject)])
        for name in self.links:
            for item in record.values.get(name, ()):
                self.related_rows += 1
                rtype = self.types[name]
                row = dict(item)
                row[self.links[name]] = link  # the parent's key text, as the file linked them
                self.writers[name].writerow([self.related_rows] + [canonical(row[f], t)
                                                                   for f, t in scalar_fields(rtype)])

    def close(self) -> None:
        for f in self.files.values():
            f.close()


def _csv_header(path: Path) -> list[str]:
    """The header row as the Python reader finds it (first non-blank row; a duplicate column is refused)."""
    return _csv_start(path)[0]


def _csv_blank_rows(path: Path) -> tuple[int, set[int]]:
    """The rows after the header that DuckDB reads (every row but empty lines), and the positions among them of
    the ones the Python reader skips as blank."""
    count, blanks = 0, set()
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = csv.reader(f)
        for cells in rows:
            if not all(rec._is_blank(c) for c in cells):
                break  # the header
        for cells in rows:
            if cells:
                count += 1
                if all(rec._is_blank(c) for c in cells):
                    blanks.add(count)
    return count, blanks


def _csv_source(path: Path, header: list[str], skip: int) -> exp.Expression:
    """The CSV file as DuckDB reads it for the Python reader's rows: every column of `header` as text."""
    columns = exp.Struct(expressions=[exp.PropertyEQ(this=exp.to_identifier(_column_name(h, i)),
                                                     expression=text("VARCHAR")) for i, h in enumerate(header)])
    # DuckDB takes the first line for the header; the Python reader the first non-blank row. strict: an unclosed
    # quote or extra cells fail here, and the Python reader then reports that row and reads the others (never a row
    # swallowed or cut short)
    leading = {"skip": skip} if skip else {}
    return _read_csv(path, header=True, **leading, columns=columns, delim=",", quote='"', escape='"',
                     auto_detect=False, null_padding=True, strict_mode=True)


def _read_csv(path: Path, **options: object) -> exp.Expression:
    """`READ_CSV(path, option := value, …)` as a tree; a value is a bool, a text, a number or a tree."""
    def value(v: object) -> exp.Expression:
        if isinstance(v, bool):
            return exp.true() if v else exp.false()
        if isinstance(v, str):
            return text(v)
        if isinstance(v, int):
            return exp.Literal.number(v)
        assert isinstance(v, exp.Expression)
        return v
    return exp.func("READ_CSV", text(str(path)),
                    *[exp.PropertyEQ(this=exp.var(k), expression=value(v)) for k, v in options.items()])


def _column_name(header: str, index: int) -> str:
    return header if header else f"__unnamed_{index}"
