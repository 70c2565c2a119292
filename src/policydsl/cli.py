"""Stage 7 — the command line: a thin layer over `policydsl.api`.

click gives commands, `--help` and argument errors; rich draws the progress bar on long runs (to stderr, so results
on stdout stay clean). Exit codes: 0 success, 1 policy errors / failed records, 2 usage errors.
"""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path

import click

from .engines.base import SetupError  # not from the row engine: a run on DuckDB does not import it
from .limits import printable
from .types import format_value


class _OnFirstUse:
    """A module imported when first used: `policydsl --help` does not pay for networkx (api, graph) and the rest."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str):
        import importlib
        return getattr(importlib.import_module(self._name), attr)


api = _OnFirstUse("policydsl.api")
graph = _OnFirstUse("policydsl.graph")

PROGRESS_THRESHOLD = 5000  # records; smaller runs finish before a bar would be worth drawing


def crash_report_dir() -> Path:
    """Where crash reports go: $XDG_CACHE_HOME/policydsl/crashes (default ~/.cache/…), else the temp directory."""
    import os
    import tempfile
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    for folder in (Path(root) / "policydsl" / "crashes", Path(tempfile.gettempdir()) / "policydsl-crashes"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            return folder
        except OSError:
            continue
    return Path(tempfile.gettempdir())


def _save_crash_report(exc: BaseException) -> Path | None:
    """The traceback, the command line and the versions in a file a user can attach to a bug report.

    Only the traceback's own text is saved (no input file is copied), so a report is safe to share as a rule.
    """
    import platform
    import time
    import traceback
    from importlib.metadata import PackageNotFoundError, version
    try:
        ours = version("policydsl")
    except PackageNotFoundError:
        ours = "unknown"
    lines = [f"policydsl {ours}, Python {platform.python_version()} on {platform.platform()}",
             "command: " + " ".join(sys.argv), "",
             *traceback.format_exception(type(exc), exc, exc.__traceback__, limit=60)]
    try:
        import os
        folder = crash_report_dir()
        path = folder / f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.txt"
        path.write_text("\n".join(lines), encoding="utf-8", errors="replace")
        return path
    except OSError:
        return None


class _Guarded(click.Group):
    """The last line of defence: an unexpected Python exception becomes one line and exit code 2, not a traceback.

    Every known problem is reported where it happens, in words; reaching this handler means a bug in policydsl,
    so the line says so and names a saved report. POLICYDSL_DEBUG=1 lets the traceback through instead.
    """

    def invoke(self, ctx: click.Context):
        import os
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:  # noqa: BLE001 — includes RecursionError and MemoryError
            if os.environ.get("POLICYDSL_DEBUG"):
                raise
            if isinstance(exc, BrokenPipeError):  # `policydsl run … | head`: the reader has gone; nothing to say
                sys.stderr.close()
                ctx.exit(1)
            report = _save_crash_report(exc)
            where = f"; a report is saved in {report}" if report else ""
            what = "ran out of memory" if isinstance(exc, MemoryError) else type(exc).__name__
            click.echo(f"internal error ({what}): this is a bug in policydsl, not in your files{where} — "
                       "please send it to the maintainers (POLICYDSL_DEBUG=1 shows the details)", err=True)
            ctx.exit(2)


@click.group(cls=_Guarded, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="policydsl")
@click.option("--allow-dir", "allow_dirs", multiple=True, type=click.Path(file_okay=False), metavar="DIR",
              help="Also let policies import files and read lists from DIR (default: only the policy's own folder "
                   "tree and the current one).")
def main(allow_dirs: tuple[str, ...] = ()) -> None:
    """policydsl — check, graph and run grassroots-governance policy files."""
    from .limits import ALLOWED_DIRS
    ALLOWED_DIRS.set(tuple(allow_dirs))


def _out_problem(out: str, want: str, suffixes: tuple[str, ...] = ()) -> str | None:
    """Why `out` cannot be written (checked before any work is done), or None. `want` is "file" or "folder"."""
    import os
    path = Path(out)
    if want == "file" and path.is_dir():
        return "is a folder; name a file inside it"
    if want == "file" and suffixes and path.suffix.lower() not in suffixes:
        return f"cannot write '{path.suffix or path.name}' files; use {', '.join(suffixes)}"
    if path.exists():
        if want == "folder":
            if not path.is_dir():
                return "is a file, not a folder"
            return None if os.access(path, os.W_OK | os.X_OK) else "is a folder you may not write into"
        if path.is_dir():
            return "is a folder; name a file inside it"
        if not path.is_file():
            return "is not a regular file (a device or a pipe)"
        return None if os.access(path, os.W_OK) else "is a file you may not overwrite"
    parent = path.parent
    while want == "folder" and not parent.exists() and parent != parent.parent:
        parent = parent.parent  # a folder is made with its missing parents
    if not parent.is_dir():
        return f"its folder '{parent}' does not exist"
    return None if os.access(parent, os.W_OK | os.X_OK) else f"its folder '{parent}' is not writable"


def _check_out(out: str | None, want: str = "file", suffixes: tuple[str, ...] = ()) -> None:
    """Exit 2 with one line when `--out` cannot be written, before anything is read or evaluated."""
    if out is None:
        return
    problem = _out_problem(out, want, suffixes)
    if problem:
        click.echo(f"error: --out {out}: {problem}", err=True)
        sys.exit(2)


def _write_text(path: str | Path, text: str) -> None:
    """Write an output file; a full disk or a vanished folder is one line and exit 1, not a traceback."""
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        click.echo(f"error: cannot write {path}: {exc.strerror or exc}", err=True)
        sys.exit(1)


def _where(error) -> str:
    """A data error without the value it quotes (a private index names the record and field, not the figure)."""
    parts = [error.location, f"record {error.record_id}"] + ([f"field {error.field}"] if error.field else [])
    return ": ".join(parts)


def _write_bytes(path: str | Path, data: bytes) -> None:
    """Write a binary output file (a PDF letter), with the same one-line error as `_write_text`."""
    try:
        Path(path).write_bytes(data)
    except OSError as exc:
        click.echo(f"error: cannot write {path}: {exc.strerror or exc}", err=True)
        sys.exit(1)


def _as_of_or_exit(policies, as_of) -> date | None:
    """The --as-of date; without one, every policy must say from when it is in force (no date is made up)."""
    if as_of is not None:
        return as_of.date()
    undated = [p for p in policies if p.effective is None and _depends_on_date(p)]
    if undated:
        click.echo(f"error: {undated[0].path}: the policy has no 'effective' date (nor does a policy it extends), "
                   "so the date to evaluate at is unknown; give --as-of YYYY-MM-DD or add 'effective DATE' to its "
                   "header", err=True)
        sys.exit(1)
    return None


def _depends_on_date(policy) -> bool:
    """Whether results change with the evaluation date: a param with dated values, or a rule reading as_of."""
    from . import ir  # ir.walk, not the analysis module's walk: that module loads networkx
    if any(v.start is not None for p in policy.params.values() for v in p.values):
        return True
    return any(isinstance(x, ir.AsOf) for node in policy.nodes.values() for x in ir.walk(node.body))


def _load_or_exit(path: str, cached: bool = False):
    # the warnings are `check`'s business; a run needs no analysis (and `cached`: no check of unchanged files)
    report = api.check_cached(path) if cached else api.check([path], warnings=False)
    if not report.ok:
        click.echo(report.render(), err=True)
        click.echo(f"\n{len(report.errors)} error(s) in {path}", err=True)
        sys.exit(1)
    return report.policies[path]


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--quiet", "-q", is_flag=True, help="Do not list the assumptions.")
def check(files: tuple[str, ...], quiet: bool) -> None:
    """Check policy FILES: syntax, names, types, cycles. Lists every `assumed` figure.

    Exit code 0 when all files are clean, 1 when any has an error.
    """
    report = api.check(list(files))
    if report.diagnostics:
        click.echo(report.render(), err=True)
        click.echo("", err=True)
    if not quiet:
        seen = set()
        for _path, policy in report.policies.items():
            for a in policy.assumptions:
                if (a.span, a.name) in seen:
                    continue
                seen.add((a.span, a.name))
                click.echo(f"{a.span}: note: assumed {a.name}: {a.reason}")
    errors = len(report.errors)
    warnings = sum(d.severity == "warning" for d in report.diagnostics)
    click.echo(f"checked {len(files)} file(s): {errors} error(s), {warnings} warning(s); "
               f"{len(report.policies)} policy file(s) without errors", err=True)
    sys.exit(1 if errors else 0)


def _parse_related(values: tuple[str, ...]) -> dict[str, str]:
    related = {}
    for item in values:
        if "=" not in item:
            raise click.BadParameter(f"'{item}' should be FIELD=FILE, e.g. 网格=data/grids.csv",
                                     param_hint="--related")
        name, path = item.split("=", 1)
        related[name.strip()] = path.strip()
    return related


@main.command()
@click.argument("policy_file", type=click.Path(dir_okay=False))
@click.option("--records", "records_file", required=True, type=click.Path(),
              help="Records to evaluate: .csv, .json, .jsonl, .xlsx or .parquet (a file or a directory of part files).")
@click.option("--related", multiple=True, metavar="FIELD=FILE",
              help="Related records for a 'list of' field when the records file is flat (CSV/XLSX).")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Evaluation date (selects dated params). Default: the policy's effective date.")
@click.option("--out", type=click.Path(),
              help="Write results to .csv, .jsonl, .json or .parquet (default: print them).")
@click.option("--engine", type=click.Choice(["duckdb", "spark", "row"]), default="duckdb", show_default=True,
              help="duckdb: the policy compiled to SQL (fast, bounded memory); spark: the same SQL on a Spark "
                   "cluster; row: the row evaluator (the reference semantics).")
@click.option("--spark-master", metavar="URL", help="Spark master for --engine spark (default local[*]).")
@click.option("--raw-cells", is_flag=True,
              help="In a .csv --out, write text cells starting with = + - @ as they are (by default they get a "
                   "leading ' so that a spreadsheet does not run them as formulas).")
def run(policy_file: str, records_file: str, related: tuple[str, ...], as_of, out: str | None, engine: str,
        spark_master: str | None, raw_cells: bool) -> None:
    """Evaluate POLICY_FILE on every record; report bad records; print a summary.

    Exit code 1 when any record failed to load or evaluate (the others still run).
    """
    from .engines.base import OUTPUT_SUFFIXES, EngineUnavailable
    from .engines.records import DataSetupError
    from .limits import RAW_CELLS
    RAW_CELLS.set(raw_cells)
    _check_out(out, "file", OUTPUT_SUFFIXES)
    policy = _load_or_exit(policy_file, cached=True)
    when: date | None = _as_of_or_exit([policy], as_of)
    printer = _printer(policy)
    decisions = []  # the decisions counted in the rows printed (none are, with --out)

    def on_row(cells: tuple) -> None:
        printer(cells)
        if not decisions:
            from .compare.terminal import DecisionCounter
            decisions.append(DecisionCounter(policy))
        decisions[0](cells)
    try:
        batch = api.run_batch(policy, records_file, related=_parse_related(related), as_of=when, out=out,
                              engine=engine, on_row=on_row, spark_master=spark_master)
    except (DataSetupError, SetupError, EngineUnavailable) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except OSError as exc:  # writing --out failed midway (a full disk)
        click.echo(f"error: cannot write {out}: {exc.strerror or exc}", err=True)
        sys.exit(1)
    for err in batch.data_errors:
        click.echo(err.render(), err=True)
    for failure in batch.evaluation_failures:
        click.echo(f"{records_file}: record {failure.record_id}: evaluation error: {failure.message}", err=True)
    # every summary (or, for a policy without any, how many records got each decision), for people, wrapped
    counts = decisions[0].counts if decisions else {}
    if batch.summaries or counts:  # else there are no lines (and the compare package is not imported)
        from .compare.terminal import summary_lines
        for line in summary_lines(policy, batch.summaries, counts, first="汇总："):
            click.echo(line)
    click.echo(f"{batch.ok_count} ok, {batch.failed_count} failed"
               f" ({len(batch.failed_ids)} bad record(s), {len(batch.evaluation_failures)} evaluation "
               f"error(s))" + (f"; results in {out}" if out else ""), err=True)
    sys.exit(1 if batch.failed_count else 0)


def _printer(policy):
    """Prints result rows as tab-separated text, formatting each cell by its column's type."""
    types = list(api.output_types(policy).values())
    header = []

    def on_row(cells: tuple) -> None:
        if not header:
            header.append(cells)
            click.echo("\t".join(cells))
            return
        # a value's tab, line break or escape code is shown, never obeyed: one record is one line of the table
        click.echo("\t".join(printable(c) if isinstance(c, str) else format_value(c, t) for c, t in zip(cells, types)))
    return on_row


@main.command(name="graph")
@click.argument("policy_file", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["dot", "mermaid", "json"]), default="dot", show_default=True)
@click.option("--out", type=click.Path(), help="Write to a file instead of stdout.")
def graph_cmd(policy_file: str, fmt: str, out: str | None) -> None:
    """Print the dependency graph of POLICY_FILE (inputs, params, facts, outcomes) as DOT, Mermaid or JSON."""
    _check_out(out)
    policy = _load_or_exit(policy_file)
    g = graph.build(policy)
    text = {"dot": lambda: graph.to_dot(g, policy.name), "mermaid": lambda: graph.to_mermaid(g),
            "json": lambda: graph.to_json(g)}[fmt]()
    if out:
        _write_text(out, text)
    else:
        click.echo(text, nl=False)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--coverage", "show_coverage", is_flag=True,
              help="Also list the table rows, branches, conditions and outcomes no example exercised.")
@click.option("--engine", type=click.Choice(["row", "duckdb", "spark"]), default="row", show_default=True,
              help="Run the examples on this engine (traces of failures always come from the row evaluator).")
def test(files: tuple[str, ...], show_coverage: bool, engine: str) -> None:
    """Run every `example` block in FILES; show expected and actual values of each failure, with the trace.

    Exit code 1 when any example fails or a file has errors (coverage gaps do not change it).
    """
    from .coverage import coverage, failure_trace
    from .engines.base import EngineUnavailable
    failures = total = 0
    report = api.check(list(files))
    if not report.ok:
        click.echo(report.render(), err=True)
        sys.exit(1)
    chosen = engine
    for _path, policy in report.policies.items():
        engine = api.compile_policy(policy)
        try:
            outcomes = api.run_examples(policy, engine, on=chosen)
        except (EngineUnavailable, SetupError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        for outcome in outcomes:
            total += 1
            if outcome.passed:
                continue
            failures += 1
            ex = outcome.example
            click.echo(f"{ex.span}: FAILED example \"{ex.title}\"")
            if outcome.error:
                click.echo(f"  evaluation error: {outcome.error}")
            for name, expected, actual in outcome.mismatches:
                t = api.expected_type(policy, name)
                click.echo(f"  {name}: expected {format_value(expected, t)}, got {format_value(actual, t)}")
            try:
                trace = failure_trace(policy, engine, ex, [name for name, _, _ in outcome.mismatches])
            except SetupError:  # the example's date has no param value: the error above says so
                trace = []
            for line in trace:
                click.echo(line)
        if show_coverage:
            for line in coverage(policy, engine).render():
                click.echo(line)
    click.echo(f"{total - failures} passed, {failures} failed")
    sys.exit(1 if failures else 0)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True))
@click.option("--check", "check_only", is_flag=True, help="Change nothing; exit 1 if any file is not formatted.")
@click.option("--keywords", type=click.Choice(["en", "zh"]), default=None,
              help="Write the keywords in English or Chinese (default: as most of the file already does).")
def fmt(files: tuple[str, ...], check_only: bool, keywords: str | None) -> None:
    """Rewrite policy FILES in the one canonical layout (comments kept; running it twice changes nothing);
    --keywords zh|en converts a file between the English and the Chinese keywords, losslessly."""
    from .diagnostics import SourceCache, render_all
    from .formatter import format_source
    from .semantics import Loader
    from .syntax import SyntaxFailure
    unformatted = 0
    for path in files:
        loader = Loader()
        text = loader.read_policy(path)
        if text is None:  # not a regular file, too large, not UTF-8: the same words as `check`
            click.echo(render_all(loader.diags.items, loader.sources), err=True)
            sys.exit(1)
        try:
            formatted = format_source(text, path, keywords)
        except SyntaxFailure as failure:
            sources = SourceCache()
            sources.add(path, text)
            click.echo(render_all(failure.diagnostics, sources), err=True)
            sys.exit(1)
        if formatted != text:
            unformatted += 1
            if check_only:
                click.echo(f"would reformat {path}")
            else:
                _write_text(path, formatted)
                click.echo(f"reformatted {path}")
    if check_only and unformatted:
        sys.exit(1)


@main.command(name="compare")
@click.argument("policy_files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--records", "records_file", required=True, type=click.Path(),
              help="Records to run through every policy: .csv, .json, .jsonl, .xlsx or .parquet (file or directory).")
@click.option("--related", multiple=True, metavar="FIELD=FILE",
              help="Related records for a 'list of' field; each policy uses the ones it declares.")
@click.option("--as-of", "as_of", multiple=True, metavar="[N=]DATE",
              help="Evaluation date YYYY-MM-DD for every policy, or N=DATE for the N-th policy (1 = the baseline; "
                   "or FILE=DATE) — the same file twice at two dates compares a mid-year change. "
                   "Default: each policy's effective date.")
@click.option("--out", type=click.Path(),
              help="Write the report to .html, .md, .json, .xlsx or .csv (default: Markdown on stdout).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="The report's language.")
@click.option("--explain", "explain_limit", type=click.IntRange(0, 200), default=200, show_default=True,
              help="With an .html or .md --out: write the explanations of this many changed records under each "
                   "policy beside the report (<name>.explain/) and link them; 0 for none.")
@click.option("--engine", type=click.Choice(["duckdb", "row"]), default="duckdb", show_default=True,
              help="duckdb: every figure computed in SQL (bounded memory); row: every record in Python.")
def compare_cmd(policy_files: tuple[str, ...], records_file: str, related: tuple[str, ...], as_of: tuple[str, ...],
                out: str | None, lang: str, explain_limit: int, engine: str) -> None:
    """Compare POLICY_FILES (two or more; the first is the baseline) on the same records.

    Reports the outcomes that differ per record and why, totals (money, counts, decisions), and the params and
    rules that differ between the files. A policy needing a field the records lack is reported, not guessed.
    Exit code 1 when a file has errors, a policy could not be compared, or a record failed under any policy.
    """
    from . import compare as comparing
    from .engines.records import DataSetupError
    if len(policy_files) < 2:
        raise click.UsageError("compare needs at least two policy files (the first is the baseline)")
    _check_out(out, "file", tuple(comparing.REPORT_SUFFIXES))
    report = api.check(list(policy_files))
    if not report.ok:
        click.echo(report.render(), err=True)
        click.echo(f"\n{len(report.errors)} error(s)", err=True)
        sys.exit(1)
    policies = [report.policies[p] for p in policy_files]
    dates = _compare_dates(policy_files, as_of)
    for policy, day in zip(policies, dates):
        _as_of_or_exit([policy], None if day is None else datetime.combine(day, datetime.min.time()))
    when = dates if any(d is not None for d in dates) else None
    try:
        result = _compare_with_progress(comparing, policies, records_file, _parse_related(related), when, engine)
    except (DataSetupError, SetupError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    for problem in comparing.problems(result):
        click.echo(problem, err=True)
    if out:
        try:
            written = result.write(out, lang=lang, explanations=explain_limit)
        except OSError as exc:
            click.echo(f"error: cannot write {out}: {exc.strerror or exc}", err=True)
            sys.exit(1)
        pages = [p for p in written if p.suffix == ".html" and p.parent != Path(out).parent]
        files = [p for p in written if p not in pages]
        where = f"; report in {', '.join(str(p) for p in files)}" + (
            f", {len(pages)} explanation page(s) in {pages[0].parent.parent}" if pages else "")
    else:
        click.echo(result.to_markdown(lang=lang), nl=False)
        where = ""
    left_out = [r.label for r in result.runs if not r.runnable]
    click.echo(f"{result.records_compared} of {result.records_total} record(s) compared, "
               f"{result.records_differing} differ" + (f"; not compared: {', '.join(left_out)}" if left_out else "")
               + where, err=True)
    sys.exit(1 if comparing.problems(result) else 0)


def _compare_dates(files: tuple[str, ...], given: tuple[str, ...]) -> list[date | None]:
    """One evaluation date (or None) per policy from `--as-of DATE` (all) or `--as-of N=DATE` / `FILE=DATE`
    (one policy); a policy given two dates, or a date for all given twice, is a usage error."""
    dates: list[date | None] = [None] * len(files)
    every: date | None = None
    named: set[int] = set()
    for item in given:
        target, _, text = item.rpartition("=")
        try:
            day = datetime.strptime(text.strip(), "%Y-%m-%d").date()
        except ValueError:
            raise click.BadParameter(f"'{text}' is not a date YYYY-MM-DD", param_hint="--as-of") from None
        if not target:
            if every is not None:
                raise click.BadParameter("one date for every policy is given twice; give N=DATE for one policy",
                                         param_hint="--as-of")
            every = day
            continue
        if target.strip().isdigit():
            k = int(target) - 1
            if not 0 <= k < len(files):
                raise click.BadParameter(f"policy {target} does not exist (there are {len(files)})",
                                         param_hint="--as-of")
        else:
            matches = [i for i, f in enumerate(files) if f == target.strip()]
            if len(matches) != 1:
                raise click.BadParameter(f"'{target}' names {'no' if not matches else 'more than one'} policy "
                                         "of this comparison; give its number (1 = the baseline)",
                                         param_hint="--as-of")
            k = matches[0]
        if k in named:
            raise click.BadParameter(f"policy {k + 1} ({files[k]}) is given two dates; compare the file twice "
                                     "to compare two dates", param_hint="--as-of")
        named.add(k)
        dates[k] = day
    return [d if k in named else every for k, d in enumerate(dates)]


def _compare_with_progress(comparing, policies, records_file, related, when, engine):
    """A progress bar on stderr for long comparisons (only on a terminal): loading, then records compared."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
    size = Path(records_file).stat().st_size if Path(records_file).exists() else 0
    if size < PROGRESS_THRESHOLD * 40 or not sys.stderr.isatty():
        return comparing.compare(policies, records_file, related=related, as_of=when, engine=engine)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("loading records", total=None)

        def stage(description: str, total: int | None) -> None:
            bar.reset(task, total=total, description=description)

        return comparing.compare(policies, records_file, related=related, as_of=when, engine=engine,
                                 progress=lambda n: bar.advance(task, n), stage=stage)


@main.command(name="explain")
@click.argument("policy_file", type=click.Path(dir_okay=False))
@click.option("--records", "records_file", required=True, type=click.Path(),
              help="Records: .csv, .json, .jsonl, .xlsx or .parquet (a file or a directory of part files).")
@click.option("--id", "record_id", help="The record to explain (its key).")
@click.option("--all", "all_records", is_flag=True, help="Explain every record; needs --out DIR.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "md", "html", "pdf"]), default="text", show_default=True,
              help="pdf: an A4 decision letter (with --id and --out FILE), printed by headless Chromium.")
@click.option("--related", multiple=True, metavar="FIELD=FILE",
              help="Related records for a 'list of' field when the records file is flat (CSV/XLSX).")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Evaluation date (selects dated params). Default: the policy's effective date.")
@click.option("--out", type=click.Path(), help="With --id: a file to write; with --all: a directory.")
@click.option("--url", "online_url", default="http://localhost:8000/", show_default=True,
              help="With --format pdf: where the online version is (the letter's QR code links to it).")
@click.option("--no-why-not", is_flag=True, help="Skip the 'what would change it' suggestions (faster).")
@click.option("--index", "index", type=click.Choice(["summary", "full"]), default="summary", show_default=True,
              help="With --all: 'summary' lists files and their status only (no personal data); 'full' adds names "
                   "and results.")
def explain_cmd(policy_file: str, records_file: str, record_id: str | None, all_records: bool, lang: str, fmt: str,
                related: tuple[str, ...], as_of, out: str | None, no_why_not: bool, index: str,
                online_url: str) -> None:
    """Explain each outcome of one record (--id) or of all records (--all --out DIR), in Chinese or English.

    Every outcome with its value, the reasons that decided it, the parameters used with their citations, and
    the smallest single change of an input that would change it. Exit code 1 when the record is missing, failed
    to load or evaluate, or an author's explain template is refused.
    """
    from . import explain as explaining
    from .engines.records import DataSetupError
    if all_records == (record_id is not None):
        raise click.UsageError("give either --id ID or --all")
    if all_records and not out:
        raise click.UsageError("--all needs --out DIR")
    if fmt == "pdf" and (all_records or not out):
        raise click.UsageError("--format pdf writes one letter: give --id ID and --out FILE.pdf")
    _check_out(out, "folder" if all_records else "file")
    policy = _load_or_exit(policy_file)
    when: date | None = _as_of_or_exit([policy], as_of)
    if all_records and not policy.across_records:  # each page needs only its own record: stream them
        _explain_stream(policy, records_file, related, out, when, lang, fmt, no_why_not, index)
    try:
        loaded = explaining.load_inputs(policy, records_file, _parse_related(related))
        explainer = explaining.Explainer(policy, lang=lang, why_not=not no_why_not)
        explainer.among([(r.id, r.values) for r in loaded.records], when)
    except (DataSetupError, explaining.ExplainError, SetupError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    if record_id is not None:
        _explain_one(loaded, explainer, record_id, records_file, when, fmt, out, online_url)
    for err in loaded.errors:
        click.echo(err.render(), err=True)
    _explain_batch(policy, ((r.id, r.values) for r in loaded.records), _failures(loaded), loaded.failed_ids,
                   explainer, out, when, lang, fmt, no_why_not, index)


def _explain_one(loaded, explainer, record_id: str, records_file: str, when, fmt: str, out, online_url) -> None:
    """`explain --id`: one page (or letter) on stdout or in --out; exits."""
    from . import explain as explaining
    try:
        record = next((r for r in loaded.records if r.id == record_id), None)
        if record is None:
            why = [e.render() for e in loaded.errors if getattr(e, "record_id", None) == record_id]
            click.echo(f"error: record {record_id} " + ("failed to load:\n" + "\n".join(why) if why else
                                                         f"is not in {records_file}"), err=True)
            sys.exit(1)
        x = explainer.explain_values(record.values, record.id, when)
        if fmt == "pdf":
            _write_bytes(out, explaining.letter_pdf(x, online_url))
            sys.exit(0 if x.ok else 1)
        text = explaining.render(x, fmt)
        if out:
            _write_text(out, text)
        else:
            click.echo(text, nl=False)
        sys.exit(0 if x.ok else 1)
    except (explaining.ExplainError, SetupError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


def _failures(loaded) -> list[tuple[str, str, str]]:
    """(record id, its errors, its errors without the values they quote) of each record that failed to load."""
    return [(rid, "; ".join(e.render() for e in mine), "; ".join(_where(e) for e in mine))
            for rid in loaded.failed_ids
            for mine in [[e for e in loaded.errors if getattr(e, "record_id", None) == rid]]]


def _explain_stream(policy, records_file: str, related, out, when, lang: str, fmt: str, no_why_not: bool,
                    index: str) -> None:
    """`explain --all` for a policy that reads nothing across records: records are read, explained, written and
    dropped one at a time (bad records are reported after the pages); exits."""
    from . import explain as explaining
    from .engines.records import DataSetupError, RecordStream
    try:
        stream = RecordStream(records_file, policy.subject, policy.records, _parse_related(related))
        explainer = explaining.Explainer(policy, lang=lang, why_not=not no_why_not)
    except (DataSetupError, explaining.ExplainError, SetupError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    names = policy.subject.field_names
    good = ((rid, dict(zip(names, values))) for rid, values in stream if values is not None)

    class _AfterTheStream:  # the records that failed are known once every record has been read
        def __iter__(self):
            for err in stream.errors:
                click.echo(err.render(), err=True)
            return iter(_failures(stream))
    _explain_batch(policy, good, _AfterTheStream(), stream.failed_ids, explainer, out, when, lang, fmt,
                   no_why_not, index)


def _explain_batch(policy, records, failed, failed_ids: list[str], explainer, out, when, lang: str, fmt: str,
                   no_why_not: bool, index: str) -> None:
    """Write the pages, the mapping and the index of `explain --all`, then the summary line; exits."""
    import time

    from . import explain as explaining
    from .engines.records import DataSetupError
    started = time.perf_counter()
    try:
        written = explaining.write_all(policy, records, out, lang=lang, fmt=fmt, as_of=when,
                                       why_not=not no_why_not, explainer=explainer, failed=failed, index=index)
    except (explaining.ExplainError, SetupError, DataSetupError) as exc:  # a streamed file can fail midway
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except OSError as exc:
        click.echo(f"error: cannot write into {out}: {exc.strerror or exc}", err=True)
        sys.exit(1)
    took = time.perf_counter() - started
    rate = f" ({written.pages / took:.0f}/s)" if took > 0 and written.pages else ""
    bad = ", ".join(failed_ids[:10]) + (" …" if len(failed_ids) > 10 else "")
    click.echo(f"{written.pages} explanation(s) written to {out}{rate}, each named by a token (mapping.csv "
               f"links them to the records); {written.errors} evaluation error(s), {len(failed_ids)} bad record(s)"
               + (f" not explained, listed in the index: {bad}" if failed_ids else ""), err=True)
    sys.exit(1 if written.errors or failed_ids else 0)

@main.command()
def lsp() -> None:
    """Run the language server on stdin/stdout (diagnostics as you type, go-to-definition, hover).

    Editors start it themselves; see editors/vscode/.
    """
    from .lsp import serve
    serve()


# ------------------------------------------------------------------------------------------------ the decision store

_DB_HELP = "Database URL (default: $POLICYDSL_DB, else the SQLite file policydsl.db here)."


def _store_or_exit(db: str | None):
    """Open the store, or print why not and exit 1."""
    from .store.db import StoreError
    try:
        return api.open_store(db)
    except StoreError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


def _store_errors():
    """The exceptions store commands turn into `error: …` lines."""
    from .store.accounts import AccountError
    from .store.batches import PublishError
    from .store.db import StoreError
    from .store.replay import ReplayError
    return (StoreError, PublishError, ReplayError, AccountError)


@main.command()
@click.argument("policy_file", type=click.Path(dir_okay=False))
@click.option("--records", "records_file", required=True, type=click.Path(dir_okay=False),
              help="Records file: .csv, .json, .jsonl, .parquet or .xlsx.")
@click.option("--related", multiple=True, metavar="FIELD=FILE", help="Related records for a 'list of' field.")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Evaluation date (selects dated params). Default: the policy's effective date.")
@click.option("--db", help=_DB_HELP)
@click.option("--no-why-not", is_flag=True, help="Store explanations without 'what would change it' (faster).")
@click.option("--letters", type=click.Path(file_okay=False),
              help="Also write each person's decision letter (with their access code) into this folder.")
@click.option("--base-url", default="http://localhost:8000", show_default=True,
              help="Where the service runs, for the link and QR code on the letters.")
def publish(policy_file: str, records_file: str, related: tuple[str, ...], as_of, db: str | None,
            no_why_not: bool, letters: str | None, base_url: str) -> None:
    """Evaluate POLICY_FILE on every record and keep the batch in the decision store.

    Stores the policy's files and hashes, the parameters in force, the input's hash and, per record, its inputs,
    outcomes, trace summary and explanations in Chinese and English. The batch becomes visible only once complete.
    Exit code 1 when the policy has errors or records failed to load or evaluate (the batch still keeps them).
    """
    store = _store_or_exit(db)
    when: date | None = as_of.date() if as_of else None
    try:
        batch = api.publish_batch(store, policy_file, records_file, as_of=when, related=_parse_related(related),
                                  why_not=not no_why_not)
        written = 0
        if letters:
            from .web.letters import write_letters
            written = write_letters(store, batch.id, letters, base_url)
    except _store_errors() as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    for line in batch.data_errors:
        click.echo(line, err=True)
    click.echo(f"batch {batch.id}: {batch.policy_name} on {batch.input_name} as of {batch.as_of}: "
               f"{batch.ok_count} ok, {batch.failed_count} failed" + (f"; {written} letter(s) in {letters}"
                                                                      if letters else ""), err=True)
    sys.exit(1 if batch.failed_count else 0)


@main.command()
@click.argument("batch_id", type=int)
@click.option("--policy", "new_policy", type=click.Path(dir_okay=False),
              help="Show what this policy would change for the batch's people (a comparison report).")
@click.option("--out", type=click.Path(dir_okay=False), help="With --policy: write the report (.html, .md, .json).")
@click.option("--db", help=_DB_HELP)
def replay(batch_id: int, new_policy: str | None, out: str | None, db: str | None) -> None:
    """Re-evaluate stored batch BATCH_ID from what the store holds and list every record whose outcome differs.

    Exit code 0 when every record comes out as stored, 1 otherwise. With --policy, the comparison of the stored
    policy (baseline) with NEW on the stored inputs, as `policydsl compare` reports it.
    """
    store = _store_or_exit(db)
    try:
        result = api.replay_batch(store, batch_id, new_policy)
    except _store_errors() as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    if new_policy is not None:
        if out:
            result.write(out)
        else:
            click.echo(result.to_markdown(), nl=False)
        click.echo(f"{result.records_compared} of {result.records_total} record(s) compared, "
                   f"{result.records_differing} would change" + (f"; report in {out}" if out else ""), err=True)
        return
    for problem in result.problems:
        click.echo(problem)
    for d in result.differing:
        click.echo(f"record {d.record_id}: stored {d.stored_error or d.stored}, now {d.now_error or d.now}")
    click.echo(f"batch {batch_id}: {result.records} record(s) replayed, {len(result.differing)} differ", err=True)
    sys.exit(0 if result.ok else 1)


@main.command()
@click.argument("batch_id", type=int)
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder to write the letters into.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option("--office", help="The deciding office printed on the letters.")
@click.option("--base-url", default="http://localhost:8000", show_default=True,
              help="Where the service runs, for the link and QR code on the letters.")
@click.option("--db", help=_DB_HELP)
def letters(batch_id: int, out: str, lang: str, office: str | None, base_url: str, db: str | None) -> None:
    """(Re)print the decision letters of stored batch BATCH_ID, each with the person's access code.

    Files are named by an unguessable token; index.tsv maps them to record ids for the office.
    """
    from .web.letters import write_letters
    store = _store_or_exit(db)
    try:
        written = write_letters(store, batch_id, out, base_url, lang, office)
    except _store_errors() as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(f"{written} letter(s) written to {out}", err=True)


@main.command(name="batches")
@click.option("--db", help=_DB_HELP)
def batches_cmd(db: str | None) -> None:
    """List the complete batches in the store, newest first."""
    from .store.batches import list_batches
    store = _store_or_exit(db)
    for b in list_batches(store):
        click.echo(f"{b.id}\t{b.policy_name}\t{b.input_name}\tas of {b.as_of}\t{b.ok_count} ok, "
                   f"{b.failed_count} failed\t{b.created_at[:19]} by {b.created_by}")


@main.group()
def audit() -> None:
    """Check the decision store's records against their hash chain."""


@audit.command(name="verify")
@click.option("--db", help=_DB_HELP)
def audit_verify(db: str | None) -> None:
    """Recompute every recorded row's hash and walk the ledger; list every edited, deleted or inserted row.

    Exit code 0 when everything matches, 1 otherwise. Prints the chains' head hashes: keep them elsewhere.
    """
    store = _store_or_exit(db)
    try:
        report = api.verify_store(store)
    except _store_errors() as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    for problem in report.problems:
        click.echo(f"tampered: {problem}")
    for chain, head in report.heads.items():
        click.echo(f"head of chain {chain}: {head}")
    click.echo(f"{report.entries} ledger entries, {report.batches} batch(es), {report.decisions} decision(s): "
               + ("all intact" if report.ok else f"{len(report.problems)} problem(s)"), err=True)
    sys.exit(0 if report.ok else 1)


@main.command()
@click.option("--db", help=_DB_HELP)
@click.option("--url", help="Also ask a running service's /healthz (e.g. http://127.0.0.1:8000).")
def health(db: str | None, url: str | None) -> None:
    """Check that the decision store (and, with --url, the service) answers. Exit code 0 if so, 1 if not."""
    store = _store_or_exit(db)
    try:
        with store.reading() as conn:
            conn.exec_driver_sql("SELECT 1")
    except _store_errors() as exc:
        click.echo(f"unhealthy: {exc}", err=True)
        sys.exit(1)
    if url:
        import urllib.error
        import urllib.request
        try:
            with urllib.request.urlopen(url.rstrip("/") + "/healthz", timeout=10) as answer:
                status = answer.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except OSError as exc:
            click.echo(f"unhealthy: the service at {url} does not answer ({exc})", err=True)
            sys.exit(1)
        if status != 200:
            click.echo(f"unhealthy: the service at {url} answers {status}", err=True)
            sys.exit(1)
    click.echo(f"healthy: {store.display_url}" + (f" and {url}" if url else ""), err=True)


@main.group()
def users() -> None:
    """Officials' accounts for `policydsl serve`."""


@users.command(name="add")
@click.argument("name")
@click.option("--role", "roles", multiple=True, default=("admin",), show_default=True,
              type=click.Choice(["admin", "publisher", "reviewer", "viewer"]), help="Repeat for several roles.")
@click.option("--display-name", help="The name shown on pages and answers (e.g. 晋源区组织部 王科长).")
@click.option("--password", envvar="POLICYDSL_PASSWORD", help="Default: asked for (or $POLICYDSL_PASSWORD).")
@click.option("--db", help=_DB_HELP)
def users_add(name: str, roles: tuple[str, ...], display_name: str | None, password: str | None,
              db: str | None) -> None:
    """Create the account NAME (the first one is usually an admin)."""
    from .store.accounts import add_user
    store = _store_or_exit(db)
    if password is None:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        add_user(store, name, password, list(roles), display_name)
    except _store_errors() as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(f"user {name} added ({', '.join(roles)})", err=True)


@users.command(name="disable")
@click.argument("name")
@click.option("--db", help=_DB_HELP)
def users_disable(name: str, db: str | None) -> None:
    """Stop the account NAME from signing in (its sessions end at their next request)."""
    from .store.accounts import disable_user
    store = _store_or_exit(db)
    try:
        disable_user(store, name)
    except _store_errors() as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(f"user {name} disabled", err=True)


@users.command(name="password")
@click.argument("name")
@click.option("--password", envvar="POLICYDSL_PASSWORD", help="Default: asked for (or $POLICYDSL_PASSWORD).")
@click.option("--db", help=_DB_HELP)
def users_password(name: str, password: str | None, db: str | None) -> None:
    """Set a new password for the account NAME."""
    from .store.accounts import set_password
    store = _store_or_exit(db)
    if password is None:
        password = click.prompt("new password", hide_input=True, confirmation_prompt=True)
    try:
        set_password(store, name, password)
    except _store_errors() as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(f"password of {name} changed", err=True)


@main.group()
def tokens() -> None:
    """API tokens for programs calling the service's JSON API."""


@tokens.command(name="add")
@click.argument("name")
@click.option("--db", help=_DB_HELP)
def tokens_add(name: str, db: str | None) -> None:
    """Create an API token NAME and print it (once: only its hash is kept)."""
    from .store.accounts import add_token
    store = _store_or_exit(db)
    try:
        click.echo(add_token(store, name))
    except _store_errors() as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


@main.command()
@click.option("--db", help=_DB_HELP)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--policies", "policies_dir", default="policies", show_default=True,
              type=click.Path(file_okay=False), help="Folder of policy files officials may publish.")
@click.option("--office", help="The deciding office printed on letters and pages (e.g. 太原市晋源区委组织部).")
@click.option("--base-url", help="Public address of the service, for letters' links and QR codes.")
@click.option("--secure-cookies", is_flag=True, help="Send cookies over HTTPS only (behind a TLS proxy).")
def serve(db: str | None, host: str, port: int, policies_dir: str, office: str | None, base_url: str | None,
          secure_cookies: bool) -> None:
    """Run the web service: officials publish batches and answer objections, each person reads their own decision.

    Works with no configuration: the SQLite store policydsl.db in this folder; add the first official with
    `policydsl users add NAME`. The JSON API is described at /openapi.json (docs at /api/docs).
    """
    import logging

    import uvicorn

    from .web.app import Settings, create_app
    # One line per request on stderr, personal fields masked (the full record is the store's access log).
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    store = _store_or_exit(db)
    url = base_url or f"http://{host}:{port}"
    app = create_app(store, Settings(policies_dir=policies_dir, office=office, base_url=url,
                                     secure_cookies=secure_cookies))
    click.echo(f"serving {store.display_url} on http://{host}:{port} (Ctrl-C stops)", err=True)
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
