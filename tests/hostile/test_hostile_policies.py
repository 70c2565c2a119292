"""Hostile policy files (issue 15): deep nesting, huge files, foreign files, odd encodings, numbers out of range.

Each case runs the real command in a subprocess under a memory limit and a timeout, and asserts no traceback, a
located diagnostic and a non-zero exit (`conftest.assert_handled`).
"""

from __future__ import annotations

import os
import sys

import pytest
from hostile_corpus import POLICY, deep_expressions, policy_with, records_csv, write
from hostile_support import assert_counted, assert_handled, policydsl

DEEP = 25_000  # far beyond the limit of 100 levels, and within the 1 MB size limit for every kind
COMMANDS = ("check", "fmt", "graph", "run", "explain", "test")
#: every kind of nesting through `check`, and every command for the kinds that used to crash first
CASES = [("check", kind) for kind in deep_expressions(4)] + [
    (command, kind) for command in COMMANDS[1:] for kind in ("sum_chain", "not_chain", "unary_minus")]


@pytest.fixture(scope="session")
def deep_policies(corpus):
    """One policy per kind of nesting, each 25,000 levels deep (written once per run)."""
    return {kind: write(corpus, f"deep_{kind}.policy", policy_with(f"outcome 结果: int = {expr}"))
            for kind, expr in deep_expressions(DEEP).items()}


@pytest.fixture(scope="session")
def people(corpus):
    return records_csv(corpus, "people.csv", ["P1,30,10%,100.00,a", "P2,40,20%,200.00,b"])


def _command(command: str, policy, records) -> list:
    extra = {"run": ["--records", records], "explain": ["--records", records, "--id", "P1"], "fmt": ["--check"]}
    return [command, policy, *extra.get(command, [])]


@pytest.mark.parametrize("command, kind", CASES)
def test_deep_nesting_is_a_located_diagnostic(deep_policies, people, kind, command):
    """`a + a + …` of 25,000 terms, `not`/`-`/`if` 25,000 deep: "nested deeper than N levels", not RecursionError."""
    run = assert_handled(policydsl(*_command(command, deep_policies[kind], people)))
    assert "nested deeper than 100 levels" in run.err and "split it into named facts" in run.err
    assert len(run.err) < 5000  # the 200,000-character line is quoted as a window around the spot


@pytest.mark.parametrize("kind", list(deep_expressions(4)))
def test_nesting_just_within_the_limit_runs_everywhere(tmp_path, kind, people):
    """90 levels — below the limit — check, run on both engines, format and explain without a traceback."""
    policy = write(tmp_path, "p.policy", policy_with(f"outcome 结果: int = {deep_expressions(90)[kind]}"))
    assert_handled(policydsl("check", policy), code=0, located=False)
    for engine in ("row", "duckdb"):
        assert_counted(assert_handled(policydsl("run", policy, "--records", people, "--engine", engine), code=0,
                                      located=False), 2, 0)
    assert_handled(policydsl("fmt", policy), code=0, located=False)
    assert_handled(policydsl("explain", policy, "--records", people, "--id", "P1"), code=0, located=False)


def test_min_of_min_checks_in_linear_time(tmp_path):
    """`min(min(…))` 40 deep took minutes (the first argument was checked twice at every level)."""
    policy = write(tmp_path, "p.policy", policy_with(f"outcome 结果: int = {deep_expressions(80)['min_of_min']}"))
    run = assert_handled(policydsl("check", policy), code=0, located=False)
    assert run.seconds < 20


def test_a_mistake_deep_inside_is_reported_once(tmp_path):
    """`max(min(未定义, 1), 0)` nested 40 deep: one diagnostic, not 2^40 copies."""
    expr = "max(" * 40 + "min(未定义, 1)" + ", 0)" * 40
    policy = write(tmp_path, "p.policy", policy_with(f"outcome 结果: int = {expr}"))
    run = assert_handled(policydsl("check", policy))
    assert run.err.count("undefined name '未定义'") == 1


def test_a_big_policy_with_many_mistakes_checks_in_seconds(corpus):
    """~1 MB with 20,000 mistakes: every one reported once, in linear time (each used to re-split the file)."""
    lines = [f"fact 事实{i}: int = 未定义{i} + 年龄" for i in range(20_000)]
    policy = write(corpus, "big.policy", policy_with("\n".join(lines)))
    assert policy.stat().st_size < 1_000_000
    run = assert_handled(policydsl("check", policy))
    assert run.err.count(": error: undefined name") == 20_000


def test_a_10_mb_policy_is_refused_at_once(corpus):
    big = write(corpus, "huge.policy", policy_with("\n".join(f"param p{i}: int = {i}" for i in range(600_000))))
    assert big.stat().st_size > 10_000_000
    for command in ("check", "fmt"):
        run = assert_handled(policydsl(command, big))
        assert "more than the limit of 1,000,000" in run.err and run.seconds < 20


def test_a_10000_row_table_checks_in_seconds(corpus, people):
    """The pairwise overlap analysis took minutes; a large table is checked by sorting intervals, only in `check`
    (row 5001 overlaps the next one: the sweep finds it)."""
    rows = "\n".join(f"  when 年龄 >= {i} and 年龄 < {i + (2 if i == 5000 else 1)} -> {i}" for i in range(10_000))
    policy = write(corpus, "table.policy", policy_with(f"table 档 (unique) {{\n{rows}\n  otherwise -> -1\n}}\n"
                                                       "outcome 结果: int = 档"))
    run = assert_handled(policydsl("check", policy), code=0)
    assert "rows 5001 and 5002 both apply when 年龄 = 5001" in run.err and run.seconds < 60
    run = assert_handled(policydsl("run", policy, "--records", people, "--engine", "row"), code=0, located=False)
    assert_counted(run, 2, 0)
    assert "analysed only" not in run.err  # no warnings pass in `run`
    run = assert_handled(policydsl("run", policy, "--records", people))  # DuckDB: refused in words, row named
    assert "--engine row" in run.err


# ------------------------------------------------------------------------------------------------ named files

@pytest.mark.skipif(sys.platform == "win32", reason="POSIX devices and FIFOs")
@pytest.mark.parametrize("target", ["/dev/zero", "../../../../../../etc/passwd", "/etc/passwd", "fifo.policy",
                                    "/etc/hostname.policy", "folder.policy"])
def test_imports_of_foreign_files_are_refused_without_reading_them(tmp_path, target):
    """/dev/zero (7.5 GB then MemoryError), a FIFO (blocked forever), /etc/passwd (its first line printed)."""
    os.mkfifo(tmp_path / "fifo.policy")
    (tmp_path / "folder.policy").mkdir()
    policy = write(tmp_path, "p.policy", POLICY + f'import "{target}"\n')
    run = assert_handled(policydsl("check", policy))
    assert "root:" not in run.text and run.seconds < 20


@pytest.mark.parametrize("target", ["/etc/passwd", "../../../../../../etc/passwd", "fifo.csv", "/dev/zero"])
def test_lists_from_foreign_files_are_refused(tmp_path, target):
    os.mkfifo(tmp_path / "fifo.csv")
    policy = write(tmp_path, "p.policy", POLICY + f'list 表 from "{target}" key 码 {{\n  码: text\n}}\n')
    run = assert_handled(policydsl("check", policy))
    assert "root:" not in run.text and run.seconds < 20


def test_a_file_outside_the_tree_needs_allow_dir(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "pol").mkdir()
    write(tmp_path / "lib", "shared.policy", 'enum 等次 { 优秀, 称职 }\n')
    policy = write(tmp_path / "pol", "p.policy", POLICY + 'import "../lib/shared.policy"\n')
    refused = assert_handled(policydsl("check", policy, cwd=tmp_path / "pol"))
    assert "outside the policy's folder" in refused.err and "--allow-dir" in refused.err
    assert_handled(policydsl("--allow-dir", tmp_path / "lib", "check", policy, cwd=tmp_path / "pol"), code=0,
                   located=False)


# ------------------------------------------------------------------------------------------------ encodings

def test_a_byte_order_mark_is_not_an_error(tmp_path, people):
    policy = tmp_path / "bom.policy"
    policy.write_bytes(b"\xef\xbb\xbf" + POLICY.encode("utf-8"))
    assert_handled(policydsl("check", policy), code=0, located=False)
    assert_counted(assert_handled(policydsl("run", policy, "--records", people), code=0, located=False), 2, 0)


@pytest.mark.parametrize("encoding", ["utf-16", "gbk"])
@pytest.mark.parametrize("command", ["check", "fmt"])
def test_a_policy_not_in_utf8_is_a_diagnostic(tmp_path, encoding, command):
    policy = tmp_path / "p.policy"
    policy.write_bytes(POLICY.encode(encoding))
    run = assert_handled(policydsl(command, policy))
    assert "not UTF-8" in run.err


def test_a_nul_and_a_huge_name_do_not_flood_the_terminal(tmp_path):
    nul = write(tmp_path, "nul.policy", POLICY + "fact x: int = 1\x00\n")
    assert "\x00" not in assert_handled(policydsl("check", nul)).err
    huge = write(tmp_path, "name.policy", POLICY + "outcome y: int = " + "名" * 300_000 + "\n")
    run = assert_handled(policydsl("check", huge))
    assert len(run.err) < 5000 and "longer than the limit" in run.err


# ------------------------------------------------------------------------------------------------ numbers, dates

@pytest.mark.parametrize("body, words", [
    ("param big: int = " + "9" * 5000, "more than 28 digits"),
    ("param big: decimal = " + "1" + "0" * 400 + ".5", "more than 28 digits"),
    ("param p: money = 1.005 元", "more precise than a fen"),
    ("outcome q: decimal = 年龄 / 0", "division by zero"),
    ("param z: int = 0\noutcome q: decimal = 年龄 / z", "division by zero"),
])
def test_numbers_out_of_range_are_check_errors_at_their_place(tmp_path, body, words):
    policy = write(tmp_path, "p.policy", POLICY + body + "\n")
    for command in ("check", "run"):
        args = [command, policy] + (["--records", records_csv(tmp_path, "r.csv", ["P1," + "30,10%,100.00,a"])]
                                    if command == "run" else [])
        assert words in assert_handled(policydsl(*args)).err


@pytest.mark.parametrize("engine", ["row", "duckdb"])
def test_dates_beyond_the_calendar_fail_the_record(tmp_path, engine):
    """`9999-12-31 + 1 年` and `--as-of 9999-12-31`: the record fails in words; the other runs."""
    policy = write(tmp_path, "p.policy", policy_with("outcome 明年: date = 生日 + 1 年\noutcome 后: date = as_of + 1 年",
                                                     record="record 人 key 编号 {\n  编号: text\n  生日: date\n}\n"))
    records = write(tmp_path, "r.csv", "编号,生日\nA,9999-12-31\nB,2000-01-01\n")
    run = assert_handled(policydsl("run", policy, "--records", records, "--engine", engine))
    assert "beyond the calendar" in run.err
    assert_counted(run, 2, 1)
    late = assert_handled(policydsl("run", policy, "--records", records, "--engine", engine, "--as-of", "9999-12-31"))
    assert_counted(late, 2, 2)


def test_an_example_dated_before_a_param_fails_in_words(tmp_path):
    policy = write(tmp_path, "p.policy", POLICY + "param 起: int {\n  from 2024-01-01 = 1\n}\n"
                   'outcome 合: int = 年龄 + 起\n\nexample "too early" {\n  as of 2020-01-01\n'
                   '  given 人 { 编号: "A", 年龄: 3, 比例: 10%, 工资: 1 元, 备注: "x" }\n  expect 合 = 4\n}\n')
    run = assert_handled(policydsl("test", policy))
    assert "FAILED example" in run.out and "no value in force on 2020-01-01" in run.out


def test_a_variant_without_effective_takes_its_base_date(tmp_path, people):
    base = write(tmp_path, "base.policy", POLICY)
    variant = write(tmp_path, "v.policy", 'policy 变体 "variant"\n\nextends "base.policy"\n\n'
                    "override param 基数: money = 200 元\n")
    assert_counted(assert_handled(policydsl("run", variant, "--records", people), code=0, located=False), 2, 0)
    dated_param = "param 起: int {\n  from 2024-01-01 = 1\n}\noutcome 合: int = 年龄 + 起\n"
    undated = write(tmp_path, "u.policy", POLICY.replace("  effective 2024-01-01\n", "") + dated_param)
    run = assert_handled(policydsl("run", undated, "--records", people), located=False)
    assert "no 'effective' date" in run.err and "--as-of" in run.err
    compared = assert_handled(policydsl("compare", base, undated, "--records", people), located=False)
    assert "no 'effective' date" in compared.err
