"""Running a compiled policy on Spark: the DuckDB runner's steps, with Spark SQL reading, evaluating and writing.

    batch = run_batch(policy, "hdfs://nn/data/workers.parquet", related={}, as_of=None,
                      out="hdfs://nn/out/results.csv", on_row=None, master="spark://host:7077")

The plan is the one the DuckDB engine runs (`plan.PolicyPlan`), emitted in the Spark dialect (`compile.SPARK`), and
the steps are `runner.DuckRun`'s — strict typed reading, suspects through the careful Python converter, layered
evaluation, error and summary collection — run against a Spark session instead of a DuckDB connection
(`SparkRun` subclasses `DuckRun` and replaces only what touches the database or the files):

1. **Reading.** Spark reads the records file itself, every cell as text: CSV (one file, UTF-8, read as Python's
   `csv` module reads it: `"` quotes, doubled quotes, quoted line breaks, blank rows skipped) or Parquet (a file or
   a directory of part files), on any path Spark reads (a plain path is a local file; `file://`, `hdfs://`,
   `s3a://` … URLs go through Hadoop's file systems). Rows are numbered as the Python reader numbers them, without
   moving the data to one task: each partition's rows are counted once, and a row's number is its partition's
   offset plus its position in the partition.
2. **Suspects.** Records with a cell in a non-canonical form, a duplicate key or a non-canonical related row, and
   related rows that match no record, are handed to the Python converter, as on DuckDB, so that every report has
   exactly the row engine's words and locations. The converter streams the file on the driver: a local file
   directly, a remote one after copying it to the driver's temporary directory (only when there are suspects).
   Records it accepts are sent back to Spark (`createDataFrame`) in canonical form and evaluated with the others.
   JSON, JSONL and Excel files go through the Python converter whole (local files, or copied ones).
3. **Evaluating.** One Spark SQL query evaluates every node of every record; it is persisted (memory and disk) and
   read by the error report, the summaries and the writer.
4. **Writing.** Results are written by Spark, never collected: each CSV / JSONL / JSON line is built in Spark SQL
   exactly as `records.write_results` writes it (Python's csv quoting, `json.dumps` escapes), the lines are put
   in one partition in record order (`repartition(1)` + `sortWithinPartitions`) and written as text to a temporary
   directory next to the destination, and the single part file is then moved into place (`os.replace` locally,
   `FileSystem.rename` on Hadoop file systems). Parquet is written the same way, typed. With no output file, rows
   stream to `on_row` through `toLocalIterator` (one partition at a time).

The session: `local[*]` unless a master URL is given (or set by `spark-submit`); one per process, reused by every
run, each run in its own `newSession()` (its own temporary views and SQL settings). Settings that exact results
need: `spark.sql.ansi.enabled=true` (an overflow or an invalid cast is an error, never a silent NULL),
`spark.sql.decimalOperations.allowPrecisionLoss=false` (DECIMAL arithmetic keeps every digit the plan asks for),
`spark.sql.constraintPropagation.enabled=false` (planning time), session time zone UTC; logging is kept at errors.
What Spark cannot compute exactly stops the run with `EngineUnavailable` naming it (see `_unavailable`).
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import functools
import hashlib
import logging
import os
import re
import shutil
import tempfile
import uuid
import warnings
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path, PurePosixPath

from sqlglot import exp

from ... import ir
from ...limits import RAW_CELLS
from ...types import BOOL, DATE, DECIMAL, INT, MONEY, PERCENT, TEXT, EnumType
from .. import records as rec
from ..base import BatchResult, EngineUnavailable, EvaluationFailure, RowSink
from ..row import Result
from .compile import ERROR, KEY, ORDER, Compiled, Unsupported, col, format_text, text
from .inputs import blank
from .plan import RESULTS, PolicyPlan, neutralised
from .runner import BLANK, DuckRun, _CanonicalWriter, _column_name, _csv_header, _Input

#: SQL settings every run needs for exact results (set on each run's session, whatever the cluster's defaults).
SQL_SETTINGS = {
    "spark.sql.ansi.enabled": "true",
    "spark.sql.decimalOperations.allowPrecisionLoss": "false",
    "spark.sql.session.timeZone": "UTC",
    # Constraint propagation infers predicates through every alias of the layered projections: exponential in
    # the plan's size (it exhausted a 1 GB driver on a 30-node policy); it buys nothing for these queries.
    "spark.sql.constraintPropagation.enabled": "false",
}
#: Settings of a local session this module starts itself: one machine's data wants a few shuffle partitions per
#: core (not Spark's 200) and no adaptive re-planning of every stage (it costs more than it saves there; broadcast
#: joins are still chosen by size); no web UI. A cluster's session keeps the cluster's settings but SQL_SETTINGS.
LOCAL_SETTINGS = {
    "spark.sql.shuffle.partitions": str(2 * (os.cpu_count() or 1)),
    "spark.sql.adaptive.enabled": "false",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}
#: Cells read beyond a CSV header's last column, so that a row with content only there is not taken for blank
#: (a row whose only content lies further right still is: Spark drops tokens beyond its schema).
EXTRA_CELLS = 16
REPLACEMENT = "\ufffd"  # what Spark (Java) makes of bytes that are not UTF-8
_LOG4J = """rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n
logger.repl.name = org.apache.spark.repl.Main
logger.repl.level = error
logger.gateway.name = org.apache.spark.api.python.PythonGatewayServer
logger.gateway.level = error
logger.executor.name = org.apache.spark.executor.Executor
logger.executor.level = off
logger.tasks.name = org.apache.spark.scheduler.TaskSetManager
logger.tasks.level = off
"""

_session_cache: dict[str, object] = {}


# ------------------------------------------------------------------------------------------------ the session

def spark_session(master: str | None = None):
    """The process's Spark session for `master` (default: spark-submit's master, else `local[*]`)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pyspark import SparkConf
            from pyspark.sql import SparkSession
    except ImportError:
        raise EngineUnavailable("the spark engine needs pyspark: pip install 'policydsl[spark]'") from None
    wanted = master or SparkConf().get("spark.master", None) or "local[*]"
    active = SparkSession.getActiveSession()
    if active is not None:
        if active.sparkContext.master == wanted or master is None:
            return active
        active.stop()
    cached = _session_cache.get(wanted)
    if cached is not None and cached.sparkContext._jsc is not None:  # not stopped
        return cached
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise EngineUnavailable("the spark engine needs Java 17 or later (java is not on PATH and JAVA_HOME is "
                                "not set; on Debian: apt-get install openjdk-17-jre-headless)")
    log4j = Path(tempfile.gettempdir()) / f"policydsl-spark-log4j2-{hashlib.sha1(_LOG4J.encode()).hexdigest()[:12]}.properties"
    if not log4j.exists():
        log4j.write_text(_LOG4J, encoding="utf-8")
    builder = SparkSession.builder.master(wanted).appName("policydsl")
    settings = {**SQL_SETTINGS, **(LOCAL_SETTINGS if wanted.startswith("local") else {}),
                # quiet: errors only (a JVM that spark-submit already started keeps its own logging)
                "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={log4j.as_uri()}"}
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            session = builder.getOrCreate()
    except Exception as exc:  # pyspark raises its own runtime errors when the JVM cannot start
        raise EngineUnavailable(f"the spark engine could not start a Spark session on {wanted}: {exc}") from None
    session.sparkContext.setLogLevel("ERROR")
    # pyspark logs every error it converts (as JSON) before raising it; the run reports the ones that matter
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
    _session_cache[wanted] = session
    return session


# ------------------------------------------------------------------------------------------------ files

@dataclass
class _Source:
    """Where Spark reads an input (`url`), and the local file the Python reader reads (the file itself, or a copy
    made on the driver when it is needed); `name` is how reports name the file (as the user gave it)."""

    url: str
    name: str
    local: Path | None
    directory: bool = False

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.name.split("?")[0].rstrip("/")).suffix.lower()


def _column(name: str):
    from pyspark.sql import functions as F
    return F.col("`" + name.replace("`", "``") + "`")


def _is_url(path: str) -> bool:
    return "://" in path or path.startswith("file:")


class _Named(str):
    """A location as the user wrote it (an URL is not a `Path`), with the `suffix` the records checks read."""

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.split("?")[0].rstrip("/")).suffix


class _Cursor:
    """The part of a DuckDB result `DuckRun`'s shared steps use, over a Spark DataFrame."""

    def __init__(self, df):
        self.df = df
        self._rows = None

    @property
    def description(self):
        return [(f.name,) for f in self.df.schema.fields]

    def fetchall(self) -> list[tuple]:
        return [tuple(r) for r in self.df.collect()]

    def fetchone(self) -> tuple | None:
        rows = self.df.take(1)
        return tuple(rows[0]) if rows else None

    def fetchmany(self, size: int) -> list[tuple]:
        if self._rows is None:
            self._rows = self.df.toLocalIterator()
        out = []
        for row in self._rows:
            out.append(tuple(row))
            if len(out) >= size:
                break
        return out


class _SparkSQL:
    """`DuckRun.db` for a Spark session: `execute(sql)` returns a `_Cursor`. The few statements `DuckRun`'s shared
    steps write as text are DuckDB SQL (double-quoted names): they are parsed as such and written for Spark."""

    def __init__(self, session):
        self.session = session

    def execute(self, sql: str) -> _Cursor:
        import sqlglot
        tree = sqlglot.parse_one(sql, read="duckdb")
        return _Cursor(self.session.sql(_for_spark(tree).sql(dialect="spark")))

    def close(self) -> None:
        pass


class _NoErrors:
    """`DuckRun` falls back to the Python reader when DuckDB cannot read a file. Spark reads lazily and this runner
    checks the files before Spark reads them, so no Spark error is such a signal: this catches nothing."""

    Error = ()


# ------------------------------------------------------------------------------------------------ the run

class SparkRun(DuckRun):
    """One batch on a Spark session (see the module docstring); `DuckRun`'s steps, Spark's reading and writing."""

    caches_statements = False  # its statements read Spark views of its own: built every run

    def __init__(self, policy: ir.Policy, as_of: date, master: str | None = None):
        base = spark_session(master)
        self.policy = policy
        try:
            self.plan = PolicyPlan(policy, as_of, "spark")
        except Unsupported as exc:
            raise EngineUnavailable(str(exc).replace("the SQL engines cannot run", "the spark engine cannot run")
                                    ) from None
        self.spark = base.newSession()
        for key, value in SQL_SETTINGS.items():
            self.spark.conf.set(key, value)
        self.duckdb = _NoErrors
        self.db = _SparkSQL(self.spark)
        self.tmp = tempfile.TemporaryDirectory(prefix="policydsl-spark-")
        self.folder = Path(self.tmp.name)
        self.sources: dict[str, _Source] = {}
        self._persisted: dict[str, object] = {}
        self._renames: dict[str, str] = {}
        self.lazy = False  # True: temporary views only, nothing persisted

    def __exit__(self, *exc) -> None:
        for df in self._persisted.values():
            df.unpersist()
        self._persisted.clear()
        self.tmp.cleanup()

    # -------------------------------------------------------------------------------------------- SQL
    def _text(self, e: exp.Expression) -> str:
        return self.plan.sql(_for_spark(e))

    def sql(self, e: exp.Expression):
        return _Cursor(self.spark.sql(self._text(e)))

    def execute(self, e: exp.Expression) -> None:
        self.spark.sql(self._text(e))

    def _frame(self, e: exp.Expression):
        return self.spark.sql(self._text(e))

    def _table(self, name: str, query: exp.Expression, kind: str = "TABLE") -> None:
        """A temporary view of the query; a TABLE, and the results view every report reads, are also persisted
        (computed once, on first use)."""
        self._register(name, self._frame(query), persist=not self.lazy and (kind == "TABLE" or name == RESULTS))

    def _evaluate_into(self, table: str, records: exp.Expression, everything: bool = False) -> None:
        """As on DuckDB, but the steps of a policy across records (`StagedProgram.statements`) are each computed
        once, in order, and kept as views the later steps read: Spark has no materialized CTE and would expand
        the relation below a summary at every place the summary is read."""
        steps, final = self.plan.evaluation_steps(records, keep=self._kept(everything))
        for step in steps:
            df = self._frame(step.query)
            if not step.view:
                df = df.localCheckpoint(eager=True)  # computed now; later plans start from its rows, not its plan
                self._persisted[f"__step_{step.name}"] = df
            df.createOrReplaceTempView(_view(step.name))
        self._table(table, final)

    def _register(self, name: str, df, persist: bool = False) -> None:
        old = self._persisted.pop(name, None)
        if persist:
            from pyspark import StorageLevel
            df = df.persist(StorageLevel.MEMORY_AND_DISK)
            self._persisted[name] = df
        df.createOrReplaceTempView(_view(name))
        if old is not None:
            old.unpersist()

    # -------------------------------------------------------------------------------------------- the run
    def run_files(self, records: str | Path, related: dict[str, str | Path], out: str | Path | None,
                  on_row: RowSink | None) -> BatchResult:
        subject = self.policy.subject
        record_source = self._source(records)
        rec._check_related_setup(_Named(record_source.name), subject, self.policy.records, related)
        batch = BatchResult("spark")
        self.inputs = inputs = self._inputs(Path(record_source.name), {k: Path(str(v)) for k, v in related.items()})
        for name, item in inputs.items():
            src = record_source if not name else (self._source(related[name]) if name in related else None)
            if src is None:  # a relation with no file (JSON records carry their related rows inline)
                continue
            self.sources[item.table] = src
            item.path = src.local if src.local is not None else Path(src.name)
        native = all(self.sources[item.table].suffix in (".csv", ".parquet") for item in inputs.values()
                     if item.table in self.sources)
        if native:
            self._evaluate_native(inputs, batch)
        else:
            for item in inputs.values():
                self._localize(item)
            self._evaluate_through_python(inputs, batch)
        self._write(out, on_row)
        self._collect(batch)
        if self._renames:
            batch.data_errors = [self._renamed(e) for e in batch.data_errors]
        return batch

    def _source(self, path: str | Path) -> _Source:
        given = str(path)
        if not _is_url(given):
            local = Path(given)
            if not local.is_dir():
                rec.read_rows(local)  # a missing file, an unknown suffix: the reader's own message
            return _Source(local.resolve().as_uri(), given, local, directory=local.is_dir())
        fs, hpath = self._hadoop(given)
        if not fs.exists(hpath):
            raise rec.DataSetupError(f"{given}: no such file")
        suffix = _Named(given).suffix.lower()
        if suffix not in rec.READ_SUFFIXES:
            raise rec.DataSetupError(f"{given}: unsupported file type '{suffix}' "
                                     f"(use {', '.join(rec.READ_SUFFIXES)})")
        return _Source(given, given, None, directory=fs.getFileStatus(hpath).isDirectory())

    def _hadoop(self, url: str):
        """The Hadoop file system of an URL, and its path (the raw local one for file:, which writes no .crc)."""
        jvm = self.spark.sparkContext._jvm
        hpath = jvm.org.apache.hadoop.fs.Path(url)
        conf = self.spark.sparkContext._jsc.hadoopConfiguration()
        fs = hpath.getFileSystem(conf)
        if fs.getUri().getScheme() == "file":
            fs = jvm.org.apache.hadoop.fs.FileSystem.getLocal(conf).getRawFileSystem()
        return fs, hpath

    def _localize(self, item: _Input) -> None:
        """Make `item.path` a local file the Python reader can stream (copying a remote file to the driver)."""
        src = self.sources.get(item.table)
        if src is not None:
            item.path = self._local_file(src)

    def _local_file(self, src: _Source) -> Path:
        if src.local is not None:
            return src.local
        # a directory of part files is copied whole: the Python reader reads its part files in name order, the
        # order Spark numbers their rows in
        local = Path(self.tmp.name) / f"remote_{len(self._renames)}{src.suffix}"
        fs, hpath = self._hadoop(src.url)
        fs.copyToLocalFile(False, hpath, self.spark.sparkContext._jvm.org.apache.hadoop.fs.Path(local.as_uri()),
                           True)
        src.local = local
        self._renames[str(local)] = src.name
        return local

    def _renamed(self, error: rec.DataError) -> rec.DataError:
        """A report about a copied file names the file as the user gave it (its location, and in the message:
        a duplicate key cites where the key was first used)."""
        for local, name in self._renames.items():
            if error.location.startswith(local) or local in error.message:
                error = replace(error, location=error.location.replace(local, name, 1),
                                message=error.message.replace(local, name))
        return error

    # -------------------------------------------------------------------------------------------- reading
    def _raw(self, item: _Input) -> exp.Select:
        """Every non-blank row of the file, every cell as text, numbered from 1 as the Python reader numbers them."""
        src = self.sources[item.table]
        if src.suffix == ".parquet":
            df = self.spark.read.parquet(src.url)
            names = columns = list(df.columns)
            first = 1
        else:
            header = self._csv_header(src)
            if item.by is None:
                rec._check_header(_Named(src.name), item.rtype, [(src.name, dict.fromkeys(header, ""))])
            names = [_column_name(h, i) for i, h in enumerate(header)]
            # Cells beyond the header are read too: a row whose only content lies there is not blank to the
            # Python reader (it reports the record's missing fields), so it must not be skipped as blank here.
            columns = names + [f"__beyond{i}" for i in range(EXTRA_CELLS)]
            from pyspark.sql.types import StringType, StructField, StructType
            schema = StructType([StructField(f"_c{i}", StringType()) for i in range(len(columns))])
            df = (self.spark.read.schema(schema)
                  .options(header=False, multiLine=True, quote='"', escape='"', mode="PERMISSIVE", encoding="UTF-8",
                           ignoreLeadingWhiteSpace=False, ignoreTrailingWhiteSpace=False)
                  .csv(src.url).toDF(*columns))
            first = 0  # the header row is the first non-blank row: number 0, dropped below
        source_view = f"__source{item.table}"
        self._register(source_view, df)
        cells = [exp.alias_(exp.Cast(this=col(c, None), to=exp.DataType.build("VARCHAR")), c, quoted=True)
                 for c in columns]
        filled = exp.or_(*[exp.not_(blank(col(c, None))) for c in columns]) if columns else exp.false()
        rows = exp.select(exp.Star()).from_(exp.Subquery(this=exp.select(*cells).from_(exp.to_table(source_view)),
                                                         alias=exp.TableAlias(this=exp.to_identifier("s"))))
        rows = rows.where(filled) if columns else rows
        rows = self._frame(rows)
        if src.suffix == ".csv":
            self._check_utf8(src, rows)
        numbered = self._numbered(rows, first, single_file=not src.directory)
        if first == 0:
            numbered = numbered.where(f"`{ORDER}` >= 1")
        raw_view = f"__raw{item.table}"
        self._register(raw_view, numbered)
        self._columns = names
        # no row is flagged blank: the cells beyond the header were read with the others (EXTRA_CELLS)
        return exp.select(exp.Star(), exp.false().as_(BLANK)).from_(exp.to_table(raw_view))

    def _blank_rows(self, inputs: dict[str, _Input]) -> dict[str, set[int]]:
        return {}

    def _numbered(self, df, first: int, single_file: bool):
        """`__row` for every row in file order (`first` for the first), without moving the rows to one task.

        A file read as one partition (a CSV file always is: quoted line breaks make it unsplittable) is numbered as
        its rows come. Otherwise (Parquet row groups, a directory of part files: Spark packs small files into a
        partition largest first) each (file, partition) is counted once, and a row's number is that piece's offset,
        pieces in file-name and partition order, plus its position in the piece.
        """
        from pyspark import StorageLevel
        from pyspark.sql import functions as F
        from pyspark.sql.types import IntegerType, LongType, StringType, StructField, StructType
        cells = [_column(c) for c in df.columns]
        if single_file and df._jdf.rdd().getNumPartitions() == 1:
            return df.select((F.monotonically_increasing_id() + F.lit(first)).alias(ORDER), *cells)
        marked = df.select(F.monotonically_increasing_id().alias("__mid"), F.spark_partition_id().alias("__pid"),
                           F.input_file_name().alias("__file"), *cells)
        marked = marked.persist(StorageLevel.MEMORY_AND_DISK)
        self._persisted[f"__marked{id(marked)}"] = marked
        groups = marked.groupBy("__file", "__pid").agg(F.min("__mid").alias("start"),
                                                       F.count(F.lit(1)).alias("n")).collect()
        groups.sort(key=lambda g: (g["__file"], g["__pid"]))
        offsets, number = [], first
        for g in groups:
            offsets.append((g["__file"], g["__pid"], number - g["start"]))
            number += g["n"]
        table = self.spark.createDataFrame(offsets, StructType([
            StructField("__file", StringType()), StructField("__pid", IntegerType()),
            StructField("__delta", LongType())]))
        joined = marked.join(F.broadcast(table), ["__file", "__pid"])
        return joined.select((F.col("__mid") + F.col("__delta")).alias(ORDER), *[_column(c) for c in df.columns])

    def _check_utf8(self, src: _Source, rows) -> None:
        """A file that is not UTF-8 is refused with the reader's own message (Spark would read U+FFFD instead)."""
        if src.local is None:
            from pyspark.sql import functions as F
            found = [F.instr(_column(c), REPLACEMENT) > 0 for c in rows.columns]
            if not found or not rows.where(functools.reduce(lambda a, b: a | b, found)).limit(1).count():
                return
            self._local_file(src)
        decoder = codecs.getincrementaldecoder("utf-8")()
        with open(src.local, "rb") as f:
            try:
                while chunk := f.read(1 << 20):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
                return
            except UnicodeDecodeError:
                pass
        try:
            for _ in rec.read_rows(src.local):  # the reader's own message (with the line)
                pass
        except rec.DataSetupError as exc:
            raise rec.DataSetupError(str(exc).replace(str(src.local), src.name)) from None

    def _csv_header(self, src: _Source) -> list[str]:
        if src.local is not None:
            return _csv_header(src.local)
        lines = [r[0] for r in self.spark.read.text(src.url).limit(1000).collect()]
        if lines:
            lines[0] = lines[0].removeprefix("\ufeff")
        reader = csv.reader(lines)
        for cells in reader:
            if not all(rec._is_blank(c) for c in cells):
                return rec._header(cells, f"{src.name}:{reader.line_num}")
        raise rec.DataSetupError(f"{src.name}: empty file; expected a header row naming the fields")

    def _load_accepted(self, accepted: _CanonicalWriter, subject: _Input, relations: dict[str, _Input]) -> None:
        try:
            super()._load_accepted(accepted, subject, relations)
        except EngineUnavailable as exc:  # a value SQL cannot hold: DuckDB's words, this engine's name
            raise EngineUnavailable(str(exc).replace("the duckdb engine", "the spark engine")) from None

    def _load_canonical(self, accepted: _CanonicalWriter, subject: _Input, relations: dict[str, _Input]) -> None:
        """Records the Python converter accepted, sent to Spark from the driver (any master can read them)."""
        from pyspark.sql.types import LongType, StringType, StructField, StructType
        for name, item in [("", subject)] + list(relations.items()):
            with open(accepted.paths[name], encoding="utf-8", newline="") as f:
                reader = csv.reader(f)
                header = next(reader)
                rows = [(int(r[0]), *r[1:]) for r in reader]
            schema = StructType([StructField(ORDER, LongType())] + [StructField(h, StringType()) for h in header[1:]])
            canonical_item = _Input(accepted.paths[name], item.rtype, item.table + "_accepted", item.by)
            view = f"__raw{canonical_item.table}"
            self._register(view, self.spark.createDataFrame(rows, schema))
            self._columns = header
            self._table(canonical_item.table, self._typed(canonical_item, exp.select(exp.Star()).from_(
                exp.to_table(view)), canonical=True))

    # -------------------------------------------------------------------------------------------- suspects
    def _convert_suspects(self, subject: _Input, relations: dict[str, _Input], rows: set[int],
                          batch: BatchResult) -> int:
        for item in [subject, *relations.values()]:
            self._localize(item)
        return super()._convert_suspects(subject, relations, rows, batch)

    # -------------------------------------------------------------------------------------------- writing
    def _write(self, out: str | Path | None, on_row: RowSink | None) -> None:
        if out is None:
            if on_row is not None:
                rows = self._frame(self.plan.output(ordered=True)).toLocalIterator()
                on_row(tuple(c.name for c in self.plan.output_columns()))
                for row in rows:
                    on_row(tuple("" if v is None else v for v in row))
            return
        target = str(out)
        suffix = _Named(target).suffix.lower()
        if suffix == ".parquet":
            typed = self.plan.output(typed=True, ordered=False)
            typed = typed.select(exp.alias_(col(ORDER), ORDER, quoted=True))
            df = self._frame(typed)
            self._save(df.repartition(1).sortWithinPartitions(ORDER).drop(ORDER), "parquet", target)
        else:
            df = self._frame(self._lines(suffix))
            self._save(df.repartition(1).sortWithinPartitions(ORDER).drop(ORDER), "text", target)

    def _lines(self, suffix: str) -> exp.Expression:
        """The file's lines, numbered: the header (0), one line per record (its `__row`), a footer for .json."""
        columns = self.plan.output_columns()
        values = [(c.name, col(KEY) if i == 0 else col(c.name), TEXT if i == 0 else c.type)
                  for i, c in enumerate(columns)]
        good = exp.Is(this=col(ERROR), expression=exp.null())
        results = exp.to_table(RESULTS).as_("r")
        if suffix == ".csv":
            header = ",".join(_csv_cell_py(name) for name, _, _ in values)
            safe = not RAW_CELLS.get()
            line = exp.func("CONCAT_WS", text(","), *[_csv_cell(_safe_text(format_text(Compiled(v), t), t, safe))
                                                     for _, v, t in values])
            parts = [_line(0, text(header)), exp.select(exp.alias_(col(ORDER), ORDER, quoted=True),
                                                        exp.alias_(line, "line")).from_(results).where(good)]
            return _union(parts)
        if suffix == ".jsonl":
            line = _concat([text("{")] + _join([_json_member(n, v, t, ": ") for n, v, t in values], ", ")
                           + [text("}")])
            return exp.select(exp.alias_(col(ORDER), ORDER, quoted=True), exp.alias_(line, "line")).from_(
                results).where(good)
        # .json: json.dumps(rows, indent=2): "[", then each item indented (a comma after all but the last), "]"
        last = exp.Subquery(this=exp.select(exp.func("MAX", col(ORDER))).from_(results.copy()).where(good.copy()))
        item = _concat([text("  {\n    ")] + _join([_json_member(n, v, t, ": ") for n, v, t in values],
                                                     ",\n    ") + [text("\n  }")])
        comma = exp.Case(ifs=[exp.If(this=exp.EQ(this=col(ORDER), expression=last), true=text(""))],
                         default=text(","))
        items = exp.select(exp.alias_(col(ORDER), ORDER, quoted=True),
                           exp.alias_(_concat([item, comma]), "line")).from_(results).where(good)
        empty = exp.Is(this=last.copy(), expression=exp.null())
        opening = exp.Case(ifs=[exp.If(this=empty, true=text("[]"))], default=text("["))
        closing = exp.select(exp.alias_(exp.Literal.number(2 ** 62), ORDER, quoted=True),
                             exp.alias_(text("]"), "line")).where(exp.Not(this=empty.copy()))
        return _union([exp.select(exp.alias_(exp.Literal.number(0), ORDER, quoted=True),
                                  exp.alias_(opening, "line")), items, closing])

    def _save(self, df, fmt: str, target: str) -> None:
        """Write one partition to a directory beside `target`, then move its single part file to `target`."""
        if _is_url(target):
            fs, final = self._hadoop(target)
            folder = f"{target.rstrip('/')}.spark-{uuid.uuid4().hex}"
            df.write.format(fmt).save(folder)
            jvm = self.spark.sparkContext._jvm
            hfolder = jvm.org.apache.hadoop.fs.Path(folder)
            parts = [s.getPath() for s in fs.listStatus(hfolder) if s.getPath().getName().startswith("part-")]
            if len(parts) != 1:
                raise rec.DataSetupError(f"{target}: Spark wrote {len(parts)} part files, expected one")
            if fs.exists(final):
                fs.delete(final, False)
            if not fs.rename(parts[0], final):
                raise rec.DataSetupError(f"{target}: could not move the results into place")
            fs.delete(hfolder, True)
            return
        final = Path(target)
        folder = final.parent / f".{final.name}.spark-{uuid.uuid4().hex}"
        try:
            df.write.format(fmt).save(folder.resolve().as_uri())
            parts = sorted(folder.glob("part-*"))
            if len(parts) != 1:
                raise rec.DataSetupError(f"{target}: Spark wrote {len(parts)} part files, expected one")
            os.replace(parts[0], final)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    # -------------------------------------------------------------------------------------------- reporting
    def _collect(self, batch: BatchResult) -> None:
        """Evaluation failures, the count of good records and the summaries, in few queries: the summaries that
        need no other summary's value go in one query (Spark merges their scalar subqueries into one scan), then
        those that need only those, and so on; the count rides with the first."""
        q = (exp.select(col(KEY, None), col(ERROR, None)).from_(RESULTS)
             .where(exp.Not(this=exp.Is(this=col(ERROR, None), expression=exp.null()))).order_by(col(ORDER, None)))
        batch.evaluation_failures.extend(EvaluationFailure(k, m) for k, m in self.sql(q).fetchall())
        count = exp.Subquery(this=exp.select(exp.Count(this=exp.Star())).from_(RESULTS).where(
            exp.Is(this=col(ERROR, None), expression=exp.null())))
        computed: dict[str, object] = {}
        levels = _summary_levels(self.policy)
        for level in range(max(levels.values(), default=0) + 1):
            names = [n for n in self.policy.summaries if levels[n] == level]
            parts = [exp.alias_(count, "__count")] if level == 0 else []
            for i, name in enumerate(names):
                query, _ = self.plan.summary(name, computed, self._summarised(name))
                value, error = (e.this for e in query.expressions)
                parts += [exp.alias_(value, f"v{i}"), exp.alias_(error, f"e{i}")]
            try:
                row = self.sql(exp.select(*parts)).fetchone()
            except Exception as exc:
                _spark_error(exc)
                row = None
            if level == 0:
                (batch.ok_count, *rest) = row if row is not None else self.sql(exp.select(count)).fetchone()
            else:
                rest = list(row) if row is not None else []
            for i, name in enumerate(names):
                if row is not None:
                    value, error = rest[2 * i], rest[2 * i + 1]
                else:  # one of them failed as a whole (an ANSI overflow): find which, report it in its place
                    query, _ = self.plan.summary(name, computed, self._summarised(name))
                    try:
                        value, error = self.sql(query).fetchone()
                    except Exception as exc:
                        value, error = None, _spark_error(exc)
                computed[name] = f"error: {error}" if error is not None else value
        in_file_order = sorted(computed, key=lambda n: self.policy.summaries[n].span.line)
        batch.summaries = {n: computed[n] for n in in_file_order}


    def _summarised(self, name: str) -> str:
        """The records a summary covers: the results, or for a policy across records those standing in its pass."""
        return self._standing_at(name, RESULTS) if self.plan.staged else RESULTS


def _spark_error(exc: Exception) -> str:
    """The first line of a Spark error that stopped one summary (a value beyond its type), reported in its place
    as DuckDB's is; a value the plan refused to compute (`Dialect.raise_error`) stops the run; anything else is
    raised."""
    if type(exc).__module__.split(".")[0] not in ("pyspark", "py4j"):
        raise exc
    message = str(exc).strip()
    if _RAISED.search(message):
        _unavailable(exc)
    beyond = _BEYOND.search(message)
    return beyond.group(2).strip() if beyond else message.splitlines()[0]


_RAISED = re.compile(r"\[USER_RAISED_EXCEPTION\]\s*(.*?)\s+SQLSTATE")
_BEYOND = re.compile(r"\[((?:NUMERIC_VALUE_OUT_OF_RANGE|ARITHMETIC_OVERFLOW|CAST_OVERFLOW|NUMERIC_OUT_OF_SUPPORTED_RANGE|"
                     r"DATETIME_OVERFLOW|CAST_INVALID_INPUT)[A-Z_.]*)\]\s*(.*?)(?:\s+If necessary set|\s+SQLSTATE|$)",
                     re.MULTILINE)


def _unavailable(exc: Exception, records: object = None) -> None:
    """A Spark failure while evaluating, in words: a value the plan stopped the query for (`Dialect.raise_error`),
    or a value beyond its SQL type (ANSI mode stops the query rather than return NULL). Other errors propagate.
    (Spark wraps a failure in a broadcast or a subquery in a Java error: the message is searched, not its type.)"""
    message = str(exc)
    raised = _RAISED.search(message)
    if raised:
        raise EngineUnavailable(raised.group(1)) from None
    beyond = _BEYOND.search(message)
    if beyond:
        where = f"{records}: " if records is not None else ""
        raise EngineUnavailable(f"{where}the spark engine could not evaluate these records "
                                f"({beyond.group(2).strip() or beyond.group(1)}); --engine row evaluates them "
                                "without that limit") from None


def _summary_levels(policy: ir.Policy) -> dict[str, int]:
    """0 for a summary that reads no other summary, else one more than the highest it reads."""
    levels: dict[str, int] = {}
    for name, summary in policy.summaries.items():  # in dependency order
        used = _summaries_read(summary.expr)
        levels[name] = 1 + max((levels[u] for u in used if u in levels), default=-1)
    return levels


def _summaries_read(x: object) -> set[str]:
    found: set[str] = set()
    stack = [x]
    while stack:
        item = stack.pop()
        if isinstance(item, ir.Ref) and item.kind == "summary":
            found.add(item.name)
        if dataclasses.is_dataclass(item) and not isinstance(item, type):
            stack.extend(getattr(item, f.name) for f in dataclasses.fields(item))
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return found


# ------------------------------------------------------------------------------------------------ Spark SQL text

def _for_spark(e: exp.Expression) -> exp.Expression:
    """The trees `inputs` and `runner` build, made to mean on Spark what they mean on DuckDB (a copy).

    - `TRY_CAST` stays a TRY_CAST (sqlglot writes a plain CAST for Spark unless asked: with ANSI on, that fails).
    - A regular expression's final `$` becomes `\\z`: Java's `$` also matches before a final line break, RE2's not.
    - `REGEXP_REPLACE` replaces every match on Spark without a 'g' flag (a fourth argument is a position there).
    - ADD_MONTHS and DATE_ADD take an INT count on Spark (durations hold BIGINT months and days).
    - Table names are Spark view names (`_view`: relation fields have Chinese names).
    """
    e = e.copy()
    for node in list(e.find_all(exp.TryCast)):
        node.set("safe", True)
    for node in list(e.find_all(exp.RegexpLike, exp.RegexpExtract)):
        pattern = node.expression
        if isinstance(pattern, exp.Literal) and pattern.is_string and pattern.this.endswith("$"):
            node.set("expression", text(pattern.this[:-1] + "\\z"))
    for node in list(e.find_all(exp.AddMonths, exp.DateAdd)):
        node.set("expression", exp.Cast(this=node.expression, to=exp.DataType.build("INT")))
    for node in list(e.find_all(exp.RegexpReplace)):
        node.set("modifiers", None)
    for node in list(e.find_all(exp.Table)):
        if isinstance(node.this, exp.Identifier):
            node.set("this", exp.to_identifier(_view(node.this.name), quoted=True))
    return e


def _view(name: str) -> str:
    """A temporary view's name as Spark accepts it (relation fields have Chinese names: hex-encoded)."""
    return name if re.fullmatch(r"[A-Za-z0-9_]+", name) else "__v_" + name.encode("utf-8").hex()


def _line(number: int, line: exp.Expression) -> exp.Select:
    return exp.select(exp.alias_(exp.Literal.number(number), ORDER, quoted=True), exp.alias_(line, "line"))


def _union(parts: list[exp.Expression]) -> exp.Expression:
    out = parts[0]
    for p in parts[1:]:
        out = exp.union(out, p, distinct=False)
    return out


def _concat(parts: list[exp.Expression]) -> exp.Expression:
    return exp.func("CONCAT", *parts)


def _join(parts: list[exp.Expression], separator: str) -> list[exp.Expression]:
    out: list[exp.Expression] = []
    for i, p in enumerate(parts):
        if i:
            out.append(text(separator))
        out.append(p)
    return out


_CSV_SPECIAL = (",", '"', "\r", "\n")


def _safe_text(value: exp.Expression, t, safe: bool) -> exp.Expression:
    """A text or enum cell neutralised against formula injection, as the other engines write it."""
    return neutralised(value) if safe and (t == TEXT or isinstance(t, EnumType)) else value


def _csv_cell_py(value: str) -> str:
    """A cell as Python's csv writer (QUOTE_MINIMAL) writes it."""
    if any(c in value for c in _CSV_SPECIAL):
        return '"' + value.replace('"', '""') + '"'
    return value


def _csv_cell(value: exp.Expression) -> exp.Expression:
    """The same in SQL: NULL is an empty cell; a cell with a comma, quote or line break is quoted."""
    special = exp.RegexpLike(this=value.copy(), expression=text('[,"\r\n]'))
    quoted = _concat([text('"'), exp.func("REPLACE", value.copy(), text('"'), text('""')), text('"')])
    return exp.Case(ifs=[exp.If(this=exp.Is(this=value.copy(), expression=exp.null()), true=text("")),
                         exp.If(this=special, true=quoted)], default=value.copy())


#: json.dumps's escapes (ensure_ascii=False): quote, backslash, and the control characters.
_JSON_ESCAPES = [("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"), ("\b", "\\b"),
                 ("\f", "\\f")] + [(chr(c), f"\\u{c:04x}") for c in range(0x20) if chr(c) not in "\n\r\t\b\f"]


def _json_string(value: exp.Expression) -> exp.Expression:
    escaped = value.copy()
    for char, escape in _JSON_ESCAPES:
        escaped = exp.func("REPLACE", escaped, exp.func("CHR", exp.Literal.number(ord(char))), text(escape))
    needs = exp.RegexpLike(this=value.copy(), expression=text('["\\\\\\x00-\\x1f]'))
    body = exp.Case(ifs=[exp.If(this=needs, true=escaped)], default=value.copy())
    return _concat([text('"'), body, text('"')])


def _json_member(name: str, value: exp.Expression, t, separator: str) -> exp.Expression:
    import json
    if t == INT:
        shown = exp.Cast(this=value, to=exp.DataType.build("VARCHAR"))
    elif t == BOOL:
        shown = exp.Case(ifs=[exp.If(this=value, true=text("true"))], default=text("false"))
    elif t in (MONEY, DECIMAL, PERCENT, DATE):
        shown = _concat([text('"'), format_text(Compiled(value), t), text('"')])
    else:
        shown = _json_string(value)
    shown = exp.Case(ifs=[exp.If(this=exp.Is(this=value.copy(), expression=exp.null()), true=text("null"))],
                     default=shown)
    return _concat([text(json.dumps(name, ensure_ascii=False) + separator), shown])


# ------------------------------------------------------------------------------------------------ entry points

def run_batch(policy: ir.Policy, records: str | Path, *, related: dict[str, str | Path], as_of: date | None,
              out: str | Path | None, on_row: RowSink | None, master: str | None = None) -> BatchResult:
    """Run a policy over a records file on Spark (see the module docstring); the same `BatchResult` as DuckDB's."""
    with SparkRun(policy, as_of or policy.effective or date(2000, 1, 1), master) as run:
        try:
            return run.run_files(records, dict(related), out, on_row)
        except Exception as exc:
            if type(exc).__module__.split(".")[0] in ("pyspark", "py4j"):
                _unavailable(exc, records)
            raise


def evaluate_records(policy: ir.Policy, records: list[tuple[str, dict]], as_of: date | None = None,
                     master: str | None = None) -> list[Result]:
    """Every field and node value of each record given in runtime form, or its error, evaluated on Spark."""
    with SparkRun(policy, as_of or policy.effective or date(2000, 1, 1), master) as run:
        run.lazy = True  # one query reads the evaluated records: nothing to persist
        try:
            return run.evaluate_records(records)
        except Exception as exc:
            if type(exc).__module__.split(".")[0] in ("pyspark", "py4j"):
                _unavailable(exc)
            raise


def evaluate_example(policy: ir.Policy, records: list[tuple[str, dict]], as_of: date | None = None,
                     master: str | None = None) -> tuple[list[Result], dict[str, object]]:
    """The records of one example evaluated together on Spark, and the summaries over them."""
    with SparkRun(policy, as_of or policy.effective or date(2000, 1, 1), master) as run:
        run.lazy = True
        try:
            results = run.evaluate_records(records)
            return results, run.summaries("__evaluated") if policy.summaries else {}
        except Exception as exc:
            if type(exc).__module__.split(".")[0] in ("pyspark", "py4j"):
                _unavailable(exc)
            raise
