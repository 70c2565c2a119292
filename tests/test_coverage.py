"""`policydsl test --coverage` and the trace shown for a failed example."""

from __future__ import annotations

from click.testing import CliRunner

from policydsl import api
from policydsl.cli import main
from policydsl.coverage import coverage

POLICY = """
policy 覆盖 "coverage"
record 人 { 年龄: int, 考核: enum 考核 { 优秀, 称职, 不称职 }, 党员: bool }
table 档: int (first hit) {
  when 年龄 >= 60 -> 3
  when 年龄 >= 40 -> 2
  otherwise -> 1
}
outcome 分: int = 档 + match 考核 { 优秀 -> 2, 称职 -> 1, else -> 0 } + (if 党员 then 1 else 0)
outcome eligibility 资格 {
  年龄条件: 年龄 <= 57
  党员条件: 党员
}
outcome 未测: int = 年龄
example "forty-five, excellent, member" {
  given 人 { 年龄: 45, 考核: 优秀, 党员: true }
  expect 分 = 5, 资格 = true
}
example "thirty, competent, member" {
  given 人 { 年龄: 30, 考核: 称职, 党员: true }
  expect 分 = 3
}
"""


def test_coverage_lists_what_no_example_reached(write):
    path = write(POLICY)
    cov = coverage(api.load_policy(path))
    missed = [(i.span.line, i.text) for i in cov.missed]
    assert missed == [
        (5, "table '档' row 1"),                       # nobody is 60 or older
        (9, "match arm else in '分'"),
        (9, "'else' of the if in '分'"),               # every example is a party member
        (11, "condition '年龄条件' of '资格' failing"),
        (12, "condition '党员条件' of '资格' failing"),
        (14, "outcome '未测': no example expects its value"),
    ]
    assert cov.counts()["row"] == (2, 3)
    assert cov.counts()["branch"] == (3, 5)


def test_cli_coverage_report(write):
    path = write(POLICY)
    result = CliRunner().invoke(main, ["test", "--coverage", path])
    assert result.exit_code == 0, result.output
    assert f"coverage of {path}: 2/3 table rows, 3/5 branches, 2/4 condition outcomes" in result.output
    assert f"{path}:5:3: not exercised: table '档' row 1" in result.output
    assert "2 passed, 0 failed" in result.output


def test_full_coverage_lists_nothing(write):
    path = write("""
        policy p
        record 人 { 年龄: int }
        outcome table 档: int (first hit) {
          when 年龄 >= 60 -> 2
          otherwise -> 1
        }
        example "old" { given 人 { 年龄: 60 } expect 档 = 2 }
        example "young" { given 人 { 年龄: 20 } expect 档 = 1 }
    """)
    cov = coverage(api.load_policy(path))
    assert cov.missed == []


def test_failure_shows_the_trace_of_the_differing_outcome(write):
    path = write(POLICY.replace("expect 分 = 3", "expect 分 = 9"))
    result = CliRunner().invoke(main, ["test", path])
    assert result.exit_code == 1
    out = result.output
    assert "FAILED example \"thirty, competent, member\"" in out
    assert "分: expected 9, got 3" in out
    assert "trace of 分:" in out
    assert "read: 党员 = true, 档 = 1, 考核 = 称职" in out
    assert "branch: match: 称职" in out
    assert "档 = 1" in out and "decided by row 3 (otherwise)" in out


def test_shipped_policies_coverage_runs(monkeypatch):
    import glob
    from pathlib import Path
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    paths = sorted(glob.glob("policies/*/*.policy"))
    assert paths
    for path in paths:
        report = api.check([path])
        if path in report.policies:
            cov = coverage(report.policies[path])
            assert cov.failed_examples == 0, path
