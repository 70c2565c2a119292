"""Stage 7 — the command line: a thin layer over `policydsl.api`.

click gives commands, `--help` and argument errors; rich draws the progress bar on long runs (to stderr, so results
on stdout stay clean). Exit codes: 0 success, 1 policy errors / failed records, 2 usage errors.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from .engines.row import SetupError  # the row engine loads networkx only once it compiles a policy
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="policydsl")
def main() -> None:
    """policydsl — check, graph and run grassroots-governance policy files."""


def _load_or_exit(path: str):
    """The checked policy, or its errors printed and exit 1 (warnings are `check`'s: not looked for here)."""
    report = api.check([path], analysis=False)
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
    click.echo(f"checked {len(files)} file(s): {errors} error(s), {len(report.policies)} policy file(s) clean",
               err=True)
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
@click.option("--out", type=click.Path(dir_okay=False),
              help="Write results to .csv, .jsonl, .json or .parquet (default: print them).")
@click.option("--engine", type=click.Choice(["duckdb", "spark", "row"]), default="duckdb", show_default=True,
              help="duckdb: the policy compiled to SQL (fast, bounded memory); spark: the same SQL on a Spark "
                   "cluster; row: the row evaluator (the reference semantics).")
@click.option("--spark-master", metavar="URL", help="Spark master for --engine spark (default local[*]).")
def run(policy_file: str, records_file: str, related: tuple[str, ...], as_of, out: str | None, engine: str,
        spark_master: str | None) -> None:
    """Evaluate POLICY_FILE on every record; report bad records; print a summary.

    Exit code 1 when any record failed to load or evaluate (the others still run).
    """
    from .engines.base import EngineUnavailable
    from .engines.records import DataSetupError
    policy = _load_or_exit(policy_file)
    when: date | None = as_of.date() if as_of else None
    try:
        batch = api.run_batch(policy, records_file, related=_parse_related(related), as_of=when, out=out,
                              engine=engine, on_row=_printer(policy), spark_master=spark_master)
    except (DataSetupError, SetupError, EngineUnavailable) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    for err in batch.data_errors:
        click.echo(err.render(), err=True)
    for failure in batch.evaluation_failures:
        click.echo(f"{records_file}: record {failure.record_id}: evaluation error: {failure.message}", err=True)
    for name, value in batch.summaries.items():
        click.echo(f"summary {name} = {format_value(value, policy.summaries[name].type)}")
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
        click.echo("\t".join(c if isinstance(c, str) else format_value(c, t) for c, t in zip(cells, types)))
    return on_row


@main.command(name="graph")
@click.argument("policy_file", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["dot", "mermaid", "json"]), default="dot", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), help="Write to a file instead of stdout.")
def graph_cmd(policy_file: str, fmt: str, out: str | None) -> None:
    """Print the dependency graph of POLICY_FILE (inputs, params, facts, outcomes) as DOT, Mermaid or JSON."""
    policy = _load_or_exit(policy_file)
    g = graph.build(policy)
    text = {"dot": lambda: graph.to_dot(g, policy.name), "mermaid": lambda: graph.to_mermaid(g),
            "json": lambda: graph.to_json(g)}[fmt]()
    if out:
        Path(out).write_text(text, encoding="utf-8")
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
        except EngineUnavailable as exc:
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
                t = policy.nodes[name].type
                click.echo(f"  {name}: expected {format_value(expected, t)}, got {format_value(actual, t)}")
            for line in failure_trace(policy, engine, ex, [name for name, _, _ in outcome.mismatches]):
                click.echo(line)
        if show_coverage:
            for line in coverage(policy, engine).render():
                click.echo(line)
    click.echo(f"{total - failures} passed, {failures} failed")
    sys.exit(1 if failures else 0)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True))
@click.option("--check", "check_only", is_flag=True, help="Change nothing; exit 1 if any file is not formatted.")
def fmt(files: tuple[str, ...], check_only: bool) -> None:
    """Rewrite policy FILES in the one canonical layout (comments kept; running it twice changes nothing)."""
    from .diagnostics import SourceCache, render_all
    from .formatter import format_source
    from .syntax import SyntaxFailure
    unformatted = 0
    for path in files:
        text = Path(path).read_text(encoding="utf-8")
        try:
            formatted = format_source(text, path)
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
                Path(path).write_text(formatted, encoding="utf-8")
                click.echo(f"reformatted {path}")
    if check_only and unformatted:
        sys.exit(1)


@main.command(name="compare")
@click.argument("policy_files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--records", "records_file", required=True, type=click.Path(),
              help="Records to run through every policy: .csv, .json, .jsonl, .xlsx or .parquet (file or directory).")
@click.option("--related", multiple=True, metavar="FIELD=FILE",
              help="Related records for a 'list of' field; each policy uses the ones it declares.")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Evaluation date for every policy. Default: each policy's effective date.")
@click.option("--out", type=click.Path(dir_okay=False),
              help="Write the report to .html, .md or .json (default: Markdown on stdout).")
@click.option("--engine", type=click.Choice(["duckdb", "row"]), default="duckdb", show_default=True,
              help="duckdb: every figure computed in SQL (bounded memory); row: every record in Python.")
def compare_cmd(policy_files: tuple[str, ...], records_file: str, related: tuple[str, ...], as_of,
                out: str | None, engine: str) -> None:
    """Compare POLICY_FILES (two or more; the first is the baseline) on the same records.

    Reports the outcomes that differ per record and why, totals (money, counts, decisions), and the params and
    rules that differ between the files. A policy needing a field the records lack is reported, not guessed.
    Exit code 1 when a file has errors, a policy could not be compared, or a record failed under any policy.
    """
    from . import compare as comparing
    from .engines.records import DataSetupError
    if len(policy_files) < 2:
        raise click.UsageError("compare needs at least two policy files (the first is the baseline)")
    if out and Path(out).suffix.lower() not in comparing.REPORT_SUFFIXES:
        raise click.BadParameter(f"'{out}': use {', '.join(comparing.REPORT_SUFFIXES)}", param_hint="--out")
    report = api.check(list(policy_files))
    if not report.ok:
        click.echo(report.render(), err=True)
        click.echo(f"\n{len(report.errors)} error(s)", err=True)
        sys.exit(1)
    policies = [report.policies[p] for p in policy_files]
    when: date | None = as_of.date() if as_of else None
    try:
        result = _compare_with_progress(comparing, policies, records_file, _parse_related(related), when, engine)
    except (DataSetupError, SetupError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    for problem in comparing.problems(result):
        click.echo(problem, err=True)
    if out:
        written = result.write(out)
        where = f"; report in {', '.join(str(p) for p in written)}"
    else:
        click.echo(result.to_markdown(), nl=False)
        where = ""
    left_out = [r.label for r in result.runs if not r.runnable]
    click.echo(f"{result.records_compared} of {result.records_total} record(s) compared, "
               f"{result.records_differing} differ" + (f"; not compared: {', '.join(left_out)}" if left_out else "")
               + where, err=True)
    sys.exit(1 if comparing.problems(result) else 0)


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
@click.option("--format", "fmt", type=click.Choice(["text", "md", "html"]), default="text", show_default=True)
@click.option("--related", multiple=True, metavar="FIELD=FILE",
              help="Related records for a 'list of' field when the records file is flat (CSV/XLSX).")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Evaluation date (selects dated params). Default: the policy's effective date.")
@click.option("--out", type=click.Path(), help="With --id: a file to write; with --all: a directory.")
@click.option("--no-why-not", is_flag=True, help="Skip the 'what would change it' suggestions (faster).")
def explain_cmd(policy_file: str, records_file: str, record_id: str | None, all_records: bool, lang: str, fmt: str,
                related: tuple[str, ...], as_of, out: str | None, no_why_not: bool) -> None:
    """Explain each outcome of one record (--id) or of all records (--all --out DIR), in Chinese or English.

    Every outcome with its value, the reasons that decided it, the parameters used with their citations, and
    the smallest single change of an input that would change it. Exit code 1 when the record is missing, failed
    to load or evaluate, or an author's explain template is refused.
    """
    import time

    from . import explain as explaining
    from .engines.records import DataSetupError
    if all_records == (record_id is not None):
        raise click.UsageError("give either --id ID or --all")
    if all_records and not out:
        raise click.UsageError("--all needs --out DIR")
    policy = _load_or_exit(policy_file)
    when: date | None = as_of.date() if as_of else None
    try:
        loaded = explaining.load_inputs(policy, records_file, _parse_related(related))
        explainer = explaining.Explainer(policy, lang=lang, why_not=not no_why_not)
    except (DataSetupError, explaining.ExplainError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    try:
        if record_id is not None:
            record = next((r for r in loaded.records if r.id == record_id), None)
            if record is None:
                why = [e.render() for e in loaded.errors if getattr(e, "record_id", None) == record_id]
                click.echo(f"error: record {record_id} " + ("failed to load:\n" + "\n".join(why) if why else
                                                             f"is not in {records_file}"), err=True)
                sys.exit(1)
            x = explainer.explain_values(record.values, record.id, when)
            text = explaining.render(x, fmt)
            if out:
                Path(out).write_text(text, encoding="utf-8")
            else:
                click.echo(text, nl=False)
            sys.exit(0 if x.ok else 1)
        for err in loaded.errors:
            click.echo(err.render(), err=True)
        started = time.perf_counter()
        entries = explaining.write_all(policy, ((r.id, r.values) for r in loaded.records), out, lang=lang,
                                       fmt=fmt, as_of=when, why_not=not no_why_not,
                                       explainer=explainer)
        took = time.perf_counter() - started
    except (explaining.ExplainError, SetupError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    failed = sum(1 for _, _, x in entries if not x.ok)
    rate = f" ({len(entries) / took:.0f}/s)" if took > 0 and entries else ""
    click.echo(f"{len(entries)} explanation(s) written to {out}{rate}; {failed} evaluation error(s), "
               f"{len(loaded.failed_ids)} bad record(s)", err=True)
    sys.exit(1 if failed or loaded.failed_ids else 0)

@main.command()
def lsp() -> None:
    """Run the language server on stdin/stdout (diagnostics as you type, go-to-definition, hover).

    Editors start it themselves; see editors/vscode/.
    """
    from .lsp import serve
    serve()


if __name__ == "__main__":
    main()
