"""Static analysis (`policydsl.analysis`, run by `check`): golden files, one per finding, and no false alarms.

Every `tests/golden/analysis/NAME.policy` must check without errors and with at least one warning; the rendered
diagnostics must equal `NAME.expected` byte for byte. Regenerate after a deliberate change of wording with

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_analysis.py

and read the diff.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from policydsl import api
from policydsl.cli import main

REPO = Path(__file__).resolve().parents[1]
GOLDEN = Path("tests") / "golden" / "analysis"
CASES = sorted(p.stem for p in (REPO / GOLDEN).glob("*.policy"))
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch):
    monkeypatch.chdir(REPO)


def warnings_of(path: str) -> list[str]:
    report = api.check([path])
    assert report.ok, report.render()
    return [d.message for d in report.diagnostics if d.severity == "warning"]


@pytest.mark.parametrize("name", CASES)
def test_analysis_golden(name: str):
    policy = (GOLDEN / f"{name}.policy").as_posix()
    expected_path = REPO / GOLDEN / f"{name}.expected"
    report = api.check([policy])
    assert report.ok, f"{policy} must check without errors:\n{report.render()}"
    assert report.diagnostics and all(d.severity == "warning" for d in report.diagnostics)
    rendered = report.render() + "\n"
    if UPDATE:
        expected_path.write_text(rendered, encoding="utf-8")
    assert expected_path.exists(), f"no {expected_path.name}; run with UPDATE_GOLDEN=1 to create it"
    assert rendered == expected_path.read_text(encoding="utf-8")


def test_every_finding_has_a_situation():
    assert {"unique_overlap", "gap_enum", "gap_numeric", "first_hit_shadowed", "unused_param", "unused_fact",
            "always_true_count", "row_never_applies"} <= set(CASES)
    orphans = sorted(p.name for p in (REPO / GOLDEN).glob("*.expected") if p.stem not in CASES)
    assert not orphans


def test_shipped_policies_have_no_findings():
    files = sorted(glob.glob("policies/**/*.policy", recursive=True))
    report = api.check(files)
    assert report.ok
    assert [d for d in report.diagnostics if d.severity == "warning"] == [], report.render()


def test_warnings_do_not_change_the_exit_code():
    result = CliRunner().invoke(main, ["check", "-q", (GOLDEN / "gap_enum.policy").as_posix()])
    assert result.exit_code == 0
    assert "warning: table '分类': no row applies when 类型 = 丙" in result.output


# ------------------------------------------------------------------------------------------------ no false alarms

def test_complete_tables_are_quiet(write):
    path = write("""
        policy p
        record 人 { 年龄: int, 类型: enum 类型 { 甲, 乙 }, 得分: decimal, 党员: bool }
        param 门槛: int = 60
        outcome table 段: int (unique) {
          when 年龄 < 门槛 -> 1
          when 年龄 >= 门槛 -> 2
        }
        outcome table 类: int (unique) {
          when 类型 == 甲 and 党员 -> 1
          when 类型 == 甲 and not 党员 -> 2
          when 类型 != 甲 -> 3
        }
        outcome table 分: int (first hit) {
          when 得分 >= 90.0 -> 3
          when 得分 >= 60.0 -> 2
          when 得分 < 60.0 -> 1
        }
    """)
    assert warnings_of(path) == []


def test_conditions_that_cannot_be_analysed_are_not_reported(write):
    # rows compare two inputs with each other: no interval analysis, so neither overlap nor gap is claimed
    path = write("""
        policy p
        record 社区 { 实有: int, 核定: int }
        outcome table 状态: int (unique) {
          when 实有 < 核定 -> 1
          when 实有 > 核定 -> 3
        }
    """)
    assert warnings_of(path) == []


def test_dependent_keys_give_no_example(write):
    # 甲 and 乙 both depend on 年龄: an example "甲 = …, 乙 = …" might be impossible, so nothing is claimed
    path = write("""
        policy p
        record 人 { 年龄: int }
        fact 甲: int = 年龄 + 1
        fact 乙: int = 年龄 * 2
        outcome table 段: int (unique) {
          when 甲 > 10 -> 1
          when 乙 < 5 -> 2
        }
    """)
    assert warnings_of(path) == []


def test_facts_with_an_unknown_range_give_no_gap(write):
    # 分 can only be 1 or 2 (a table of constants): rows for 1 and 2 leave no gap
    path = write("""
        policy p
        record 人 { 年龄: int }
        table 分: int (first hit) {
          when 年龄 > 30 -> 2
          otherwise -> 1
        }
        outcome table 档: text (unique) {
          when 分 == 1 -> "低"
          when 分 == 2 -> "高"
        }
    """)
    assert warnings_of(path) == []


def test_dated_params_are_not_treated_as_constants(write):
    path = write("""
        policy p
        record 人 { 年龄: int }
        param 门槛: int {
          from 2020-01-01 = 50
          from 2024-01-01 = 60
        }
        outcome table 段: int (first hit) {
          when 年龄 >= 门槛 -> 2
          when 年龄 >= 55 -> 1
          otherwise -> 0
        }
    """)
    assert warnings_of(path) == []


def test_element_fields_inside_aggregates_are_not_constant(write):
    path = write("""
        policy p
        record 社区 { 网格: list of 网格 }
        record 网格 { 户数: int }
        outcome 大网格: int = count(网格 where 户数 >= 0)
        outcome 任一: bool = any(网格, 户数 == 户数)
    """)
    assert warnings_of(path) == []


def test_used_through_explanations_and_summaries_is_used(write):
    path = write("""
        policy p
        record 人 { 工龄: int }
        fact 年数: int = 工龄 * 2
        fact 合计用: int = 工龄 + 1
        outcome 补贴: int = 工龄 * 10
          explain zh "工龄 {{ 年数 }} 年"
        summary 总: int = sum(records, 合计用)
    """)
    assert warnings_of(path) == []


def test_a_library_without_outcomes_reports_nothing_unused(write):
    path = write("""
        record 人 { 工龄: int }
        param 标准: int = 3
        fact 年数: int = 工龄 * 标准
    """)
    report = api.check([path])
    assert [d for d in report.diagnostics if d.severity == "warning"] == []


def test_inherited_declarations_are_reported_in_their_own_file_only(write):
    write("""
        policy base
        record 人 { 工龄: int }
        param 旧: int = 1
        outcome 补贴: int = 工龄
    """, "base.policy")
    child = write("""
        extends "base.policy"
        policy child
        override outcome 补贴: int = 工龄 * 2
    """, "child.policy")
    assert warnings_of(child) == []
