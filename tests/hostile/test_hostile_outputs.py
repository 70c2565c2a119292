"""Hostile outputs (issue 15): --out problems, file names from record ids, injection into CSV, Markdown and the
terminal, and the CLI's last line of defence."""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

import pytest
from hostile_corpus import POLICY, records_csv, write
from hostile_support import assert_counted, assert_handled, policydsl


@pytest.fixture()
def files(tmp_path):
    policy = write(tmp_path, "p.policy", POLICY)
    variant = write(tmp_path, "v.policy", POLICY.replace("100 元", "200 元"))
    records = records_csv(tmp_path, "r.csv", ["P1,30,10%,100.00,a", "P2,40,20%,200.00,b"])
    return policy, variant, records


def _out_cases(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "a_folder").mkdir()
    (tmp_path / "a_file.txt").write_text("x")
    os.symlink("/dev/full", tmp_path / "full.csv")
    return {"missing folder": tmp_path / "missing" / "x.csv", "existing folder": tmp_path / "a_folder",
            "wrong suffix": tmp_path / "out.txt", "a device": tmp_path / "full.csv"}


@pytest.mark.parametrize("case", ["missing folder", "existing folder", "wrong suffix", "a device"])
def test_run_out_problems_are_one_line_before_any_work(tmp_path, files, case):
    policy, _, records = files
    out = _out_cases(tmp_path)[case]
    run = assert_handled(policydsl("run", policy, "--records", records, "--out", out), code=2, located=False)
    assert run.err.startswith(f"error: --out {out}:") and run.err.count("\n") == 1 and run.out == ""


@pytest.mark.parametrize("command", ["graph", "compare", "explain-one", "explain-all"])
def test_other_commands_check_out_first(tmp_path, files, command):
    policy, variant, records = files
    cases = _out_cases(tmp_path)
    args = {"graph": ["graph", policy], "compare": ["compare", policy, variant, "--records", records],
            "explain-one": ["explain", policy, "--records", records, "--id", "P1"],
            "explain-all": ["explain", policy, "--records", records, "--all"]}[command]
    out = cases["existing folder"] if command != "explain-all" else tmp_path / "a_file.txt"
    run = assert_handled(policydsl(*args, "--out", out), code=2, located=False)
    assert run.err.startswith(f"error: --out {out}:") and run.err.count("\n") == 1
    missing = assert_handled(policydsl(*args, "--out", cases["missing folder"]), code=(0, 2), located=False)
    assert "Traceback" not in missing.err


def test_a_long_record_id_makes_a_short_file_name(tmp_path):
    policy = write(tmp_path, "p.policy", POLICY)
    long_id = "长" * 300
    records = records_csv(tmp_path, "r.csv", [f"{long_id},30,10%,100.00,a", "P2,40,20%,200.00,b"])
    run = assert_handled(policydsl("explain", policy, "--records", records, "--all", "--out", tmp_path / "x",
                                   "--no-why-not"), code=0, located=False)
    names = sorted(p.name for p in (tmp_path / "x").iterdir())
    assert len(names) == 4 and "2 explanation(s)" in run.err  # both pages, the index and the office's mapping
    assert all(len(n.encode("utf-8")) < 120 for n in names)


@pytest.mark.parametrize("engine", ["row", "duckdb"])
def test_csv_cells_that_look_like_formulas_are_neutralised(tmp_path, engine):
    policy = write(tmp_path, "p.policy", POLICY)
    records = write(tmp_path, "r.csv", "编号,年龄,比例,工资,备注\n"
                    "=cmd|' /C calc'!A0,30,10%,100.00,=HYPERLINK(\"http://evil\")\n"
                    "@SUM,30,10%,100.00,+1\nP3,30,10%,-300.00,-2\n")
    out = tmp_path / "out.csv"
    assert_counted(assert_handled(policydsl("run", policy, "--records", records, "--engine", engine, "--out", out),
                                  code=0, located=False), 3, 0)
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    text_cells = [c for row in rows[1:] for c in (row[0], row[-1])]
    assert all(not c or c[0] not in "=+-@" for c in text_cells), rows
    assert rows[3][1] == "-20.00"  # a negative amount is a number, not a formula: written as it is
    raw = tmp_path / "raw.csv"
    policydsl("run", policy, "--records", records, "--engine", engine, "--out", raw, "--raw-cells")
    assert raw.read_text(encoding="utf-8").splitlines()[1].startswith("=cmd")


@pytest.mark.parametrize("engine", ["row", "duckdb"])
def test_line_breaks_and_escape_codes_do_not_reach_the_terminal(tmp_path, engine):
    policy = write(tmp_path, "p.policy", POLICY)
    records = write(tmp_path, "r.csv", '编号,年龄,比例,工资,备注\nP1,30,10%,100.00,"x\n# Heading\ty"\n'
                    "P2,30,10%,100.00,a\x1b[31mred\n")
    run = assert_handled(policydsl("run", policy, "--records", records, "--engine", engine), code=0, located=False)
    assert "\x1b" not in run.out and "\n# Heading" not in run.out and len(run.out.splitlines()) == 3
    page = assert_handled(policydsl("explain", policy, "--records", records, "--id", "P2"), code=0, located=False)
    assert "\x1b" not in page.out


def test_record_values_cannot_inject_markdown(tmp_path):
    base = write(tmp_path, "p.policy", POLICY)
    variant = write(tmp_path, "v.policy", POLICY.replace("100 元", "200 元"))
    evil = ["<script>alert(1)</script>", "[x](javascript:alert(1))", "![t](http://evil/t.png)", "a\n# Heading"]
    rows = "".join(f'E{i},30,10%,100.00,"{v}"\n' for i, v in enumerate(evil))
    records = write(tmp_path, "r.csv", "编号,年龄,比例,工资,备注\n" + rows)
    report = tmp_path / "report.md"
    assert_handled(policydsl("compare", base, variant, "--records", records, "--out", report), code=(0, 1),
                   located=False)
    text = report.read_text(encoding="utf-8")
    assert "<script>" not in text and not re.search(r"(?<!\\)\]\(javascript:", text) and "![t](" not in text
    assert "\n# Heading" not in text
    page = assert_handled(policydsl("explain", base, "--records", records, "--id", "E3", "--format", "md"),
                          code=0, located=False)
    assert "\n# Heading" not in page.out


def test_an_internal_error_is_one_line_with_a_saved_report(tmp_path, monkeypatch):
    """The last line of defence: a bug prints one line naming a saved report, exit 2; POLICYDSL_DEBUG=1 shows it."""
    from click.testing import CliRunner

    from policydsl import api, cli
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("POLICYDSL_DEBUG", raising=False)

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")
    monkeypatch.setattr(api, "check", broken)
    policy = write(tmp_path, "p.policy", POLICY)
    result = CliRunner().invoke(cli.main, ["check", str(policy)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "bug in policydsl" in lines[0] and "Traceback" not in result.output
    reports = list((tmp_path / "cache" / "policydsl" / "crashes").glob("crash-*.txt"))
    assert len(reports) == 1 and str(reports[0]) in lines[0]
    assert "RuntimeError: a bug" in reports[0].read_text(encoding="utf-8")
    monkeypatch.setenv("POLICYDSL_DEBUG", "1")
    debug = CliRunner().invoke(cli.main, ["check", str(policy)])
    assert isinstance(debug.exception, RuntimeError)


TEMPLATES = ["{{ 'a' * 1000000000 }}", "{{ 备注|center(10**9) }}", "{% set x = [0]*100000000 %}{{ x|length }}",
             "{{ 10**(10**10) }}", "{% macro m(n) %}{{ m(n) }}{% endmacro %}{{ m(1) }}",
             "{% for x in [[1]] recursive %}{{ loop(x) }}{% endfor %}", "{{ 备注.__class__ }}"]


@pytest.mark.parametrize("template", TEMPLATES)
def test_templates_that_exhaust_or_escape_are_refused_by_check_and_explain(tmp_path, template):
    """Up to 3.9 GB and 44 s, hangs, RecursionError — and `check` said "0 error(s)"."""
    policy = write(tmp_path, "p.policy", POLICY + f'outcome 句: int = 年龄\n  explain zh "{template}"\n')
    records = records_csv(tmp_path, "r.csv", ["P1,30,10%,100.00,a"])
    assert "refused" in assert_handled(policydsl("check", policy)).err
    run = assert_handled(policydsl("explain", policy, "--records", records, "--id", "P1"))
    assert "refused" in run.err and run.seconds < 30


@pytest.mark.parametrize("template", ["{{ 'a' * 年龄 * 年龄 * 年龄 }}", "{{ 备注.format_map }}",
                                      "{{ 备注|center(年龄 * 1000) }}"])
def test_templates_are_bounded_while_rendering(tmp_path, template):
    """What check cannot see (sizes computed from the record) is refused while rendering, in words."""
    policy = write(tmp_path, "p.policy", POLICY + f'outcome 句: int = 年龄\n  explain zh "{template}"\n')
    records = records_csv(tmp_path, "r.csv", ["P1,300,10%,100.00,a"])
    assert_handled(policydsl("check", policy), code=0, located=False)
    run = assert_handled(policydsl("explain", policy, "--records", records, "--id", "P1"))
    assert "refused" in run.err and "0x" not in run.text
