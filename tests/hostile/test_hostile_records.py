"""Hostile record files (issue 15): malformed CSV and JSON, values out of range — on the row and DuckDB engines.

Whatever is wrong with a row, it is reported with its place and id, the rows around it still run, and
count in = ok + failed.
"""

from __future__ import annotations

import json
import os

import pytest
from hostile_corpus import POLICY, write
from hostile_support import assert_counted, assert_handled, policydsl

ENGINES = ("row", "duckdb")
HEADER = "编号,年龄,比例,工资,备注\n"


@pytest.fixture()
def policy(tmp_path):
    return write(tmp_path, "p.policy", POLICY)


def _run(policy, records, engine, *extra):
    return policydsl("run", policy, "--records", records, "--engine", engine, *extra)


@pytest.mark.parametrize("engine", ENGINES)
def test_an_unterminated_quote_swallows_no_record(tmp_path, policy, engine):
    """P3's unclosed quote used to swallow P4 and P5 into one cell: "3 ok, 0 failed" of 5."""
    records = write(tmp_path, "r.csv", HEADER + 'P1,30,10%,100.00,a\nP2,31,20%,200.00,b\nP3,32,30%,300.00,"c\n'
                    "P4,33,40%,400.00,d\nP5,34,50%,500.00,e\n")
    run = assert_handled(_run(policy, records, engine))
    assert f"{records}:4: record P3:" in run.err and "not closed" in run.err
    assert_counted(run, 5, 1)
    assert "P4\t" in run.out and "P5\t" in run.out


@pytest.mark.parametrize("engine", ENGINES)
def test_a_quote_closed_by_a_later_row_swallows_nothing(tmp_path, policy, engine):
    records = write(tmp_path, "r.csv", HEADER + 'P1,30,10%,100.00,"a\nP2,31,20%,200.00,b\nP3,32,30%,300.00,"x, y"\n')
    run = assert_handled(_run(policy, records, engine))
    assert_counted(run, 3)
    assert "P2\t" in run.out and "record P1:" in run.err


@pytest.mark.parametrize("engine", ENGINES)
def test_a_cell_with_a_line_break_is_still_a_cell(tmp_path, policy, engine):
    records = write(tmp_path, "r.csv", HEADER + 'P1,30,10%,100.00,"two\nlines"\nP2,31,20%,200.00,b\n')
    run = assert_handled(_run(policy, records, engine), code=0, located=False)
    assert_counted(run, 2, 0)


@pytest.mark.parametrize("engine", ENGINES)
def test_extra_cells_are_reported_not_dropped(tmp_path, policy, engine):
    records = write(tmp_path, "r.csv", HEADER + "P1,30,10%,100.00,a,x,y\nP2,31,20%,200.00,b\nP3,31,20%,200.00,c,,\n")
    run = assert_handled(_run(policy, records, engine))
    assert f"{records}:2: record P1:" in run.err and "7 cells" in run.err
    assert_counted(run, 3, 1)  # P3's empty trailing cells (as Excel writes them) are not data


@pytest.mark.parametrize("engine", ENGINES)
def test_one_broken_jsonl_line_fails_only_itself(tmp_path, policy, engine):
    good = {"编号": "P1", "年龄": 30, "比例": "10%", "工资": "100.00", "备注": "a"}
    lines = [json.dumps(good, ensure_ascii=False), '{"编号": "P2",', json.dumps({**good, "编号": "P3"},
                                                                             ensure_ascii=False)]
    records = write(tmp_path, "r.jsonl", "\n".join(lines) + "\n")
    run = assert_handled(_run(policy, records, engine))
    assert f"{records}:2: record #2: malformed JSON" in run.err
    assert_counted(run, 3, 1)


@pytest.mark.parametrize("engine", ENGINES)
def test_deep_and_huge_json_are_refused_in_words(tmp_path, policy, engine):
    deep = write(tmp_path, "deep.json", "[" * 100_000 + "]" * 100_000)
    assert "nested too deeply" in assert_handled(_run(policy, deep, engine)).err
    digits = {"编号": "P1", "年龄": 0, "比例": "10%", "工资": "1.00", "备注": "a"}
    line = json.dumps(digits, ensure_ascii=False).replace('"年龄": 0', '"年龄": ' + "9" * 5000)
    huge = write(tmp_path, "huge.jsonl", line + "\n" + json.dumps({**digits, "编号": "P2"}, ensure_ascii=False) + "\n")
    run = assert_handled(_run(policy, huge, engine))
    assert "thousands of digits" in run.err
    assert_counted(run, 2, 1)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_bare_percent_above_one_is_refused_not_read_as_1200_percent(tmp_path, policy, engine):
    records = write(tmp_path, "r.csv", HEADER + "P1,30,12,100.00,a\nP2,30,0.12,100.00,a\nP3,30,12%,100.00,a\n")
    run = assert_handled(_run(policy, records, engine))
    assert "record P1: field 比例" in run.err and "1200%" in run.err and "write 12%" in run.err
    assert_counted(run, 3, 1)


@pytest.mark.parametrize("engine", ENGINES)
def test_money_beyond_the_exact_range_fails_the_record(tmp_path, policy, engine):
    good = {"编号": "P1", "年龄": 30, "比例": "10%", "工资": "100.00", "备注": "a"}
    rows = [good, {**good, "编号": "P2", "工资": 1e300}, {**good, "编号": "P3", "工资": "1" + "0" * 30}]
    records = write(tmp_path, "r.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    run = assert_handled(_run(policy, records, engine))
    assert "too large an amount" in run.err
    assert_counted(run, 3, 2)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_fifo_as_records_is_not_read(tmp_path, policy, engine):
    os.mkfifo(tmp_path / "r.csv")
    run = assert_handled(_run(policy, tmp_path / "r.csv", engine), located=False, code=(1, 2))
    assert "r.csv: not a regular file" in run.err and run.seconds < 30


@pytest.mark.parametrize("engine", ENGINES)
def test_amounts_beyond_the_exact_range_fail_in_words(tmp_path, engine):
    """A product beyond 28 digits: the row engine fails that record, DuckDB names the row engine (no "division by
    zero", no InvalidOperation)."""
    policy = write(tmp_path, "p.policy", POLICY + "param 巨: money = 1000000000000000000000000 元\n"
                   "outcome 积: money = 巨 * 年龄 * 年龄\n")
    records = write(tmp_path, "r.csv", HEADER + "P1,1,10%,100.00,a\nP2,100000,10%,100.00,a\n")
    run = assert_handled(_run(policy, records, engine), located=engine == "row")
    assert "division by zero" not in run.err
    if engine == "row":
        assert "beyond the 28 digits" in run.err
        assert_counted(run, 2, 1)
    else:
        assert "--engine row" in run.err


@pytest.fixture(scope="session")
def big_csv(corpus):
    """~12 MB, 300,001 rows, one unclosed quote in the middle (made once per run)."""
    rows = [f"P{i:06d},{20 + i % 40},10%,{1000 + i % 997}.00,x" for i in range(300_000)]
    rows.insert(150_000, 'BAD,30,10%,100.00,"oops')
    return write(corpus, "big.csv", HEADER + "\n".join(rows) + "\n")


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
def test_a_big_csv_with_one_bad_row_runs_the_rest_in_bounded_memory(tmp_path, big_csv, engine):
    policy = write(tmp_path, "p.policy", POLICY)
    run = assert_handled(_run(policy, big_csv, engine, "--out", tmp_path / "out.csv"))
    assert "record BAD:" in run.err and "not closed" in run.err
    assert_counted(run, 300_001, 1)
