"""The command line: exit codes, bad-record reporting, outputs, graph exports, --help."""

import json
import textwrap

import pytest
from click.testing import CliRunner

from policydsl.cli import main

POLICY = """
policy 星级 "stars" subject 书记 effective 2024-01-01
enum 考核等次 { 优秀, 称职, 基本称职, 不称职 }
record 书记 key 编号 { 编号: text, 年度考核: 考核等次, 上年星级: int, 月绩效: money }
param 每星奖励: money = 1000 元 source "seed 002"
param 封顶: int = 5 assumed "the seed gives no cap"
outcome 星级: int = clamp(上年星级 + match 年度考核 { 优秀 -> 1, 不称职 -> -1, else -> 0 }, 0, 封顶)
outcome 星级奖励: money = max(0, 星级 - 上年星级) * 每星奖励
summary 总奖励: money = sum(records, 星级奖励)
"""

GOOD_AND_BAD = """编号,年度考核,上年星级,月绩效
S1,优秀,2,1000.00
S2,称职,3,1200.50
S3,忧秀,2,1000
S4,优秀,two,1000
S5,不称职,,1000.001
S6,优秀,5,900
"""


@pytest.fixture
def files(tmp_path):
    (tmp_path / "p.policy").write_text(textwrap.dedent(POLICY), encoding="utf-8")
    (tmp_path / "r.csv").write_text(GOOD_AND_BAD, encoding="utf-8")
    return tmp_path


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_check_clean_lists_assumptions(files):
    result = invoke("check", files / "p.policy")
    assert result.exit_code == 0
    assert "note: assumed 封顶: the seed gives no cap" in result.output


def test_check_with_errors_exits_1_and_reports_all(files):
    bad = files / "bad.policy"
    bad.write_text(POLICY.replace("上年星级 +", "上年星极 +").replace("* 每星奖励", "* 每星奖历"), encoding="utf-8")
    result = invoke("check", bad)
    assert result.exit_code == 1
    assert "undefined name '上年星极'" in result.output and "did you mean '上年星级'?" in result.output
    assert "undefined name '每星奖历'" in result.output
    assert "2 error(s)" in result.output


def test_run_reports_every_bad_record_and_runs_the_rest(files):
    out = files / "out.json"
    result = invoke("run", files / "p.policy", "--records", files / "r.csv", "--out", out)
    assert result.exit_code == 1
    text = result.output
    assert "record S3: field 年度考核" in text and "忧秀" in text and "did you mean '优秀'" in text
    assert "record S4: field 上年星级" in text
    assert "record S5: field 上年星级: missing field" in text
    assert "record S5: field 月绩效" in text       # both bad fields of S5 are reported
    assert "3 ok, 3 failed" in text
    rows = json.loads(out.read_text(encoding="utf-8"))
    assert [r["编号"] for r in rows] == ["S1", "S2", "S6"]
    assert rows[0] == {"编号": "S1", "星级": 3, "星级奖励": "1000.00"}
    assert "汇总：总奖励 = 1,000 元" in text  # S6 was at the cap: no star gained (figures for people)


def test_run_output_is_byte_for_byte_reproducible(files):
    for name in ("a.csv", "b.csv"):
        invoke("run", files / "p.policy", "--records", files / "r.csv", "--out", files / name)
    assert (files / "a.csv").read_bytes() == (files / "b.csv").read_bytes()


def test_run_clean_file_exits_0(files):
    (files / "ok.csv").write_text("编号,年度考核,上年星级,月绩效\nS1,优秀,2,1000\n", encoding="utf-8")
    result = invoke("run", files / "p.policy", "--records", files / "ok.csv")
    assert result.exit_code == 0, result.output
    assert "S1\t3\t1000.00" in result.output


def test_missing_records_file_is_a_message_not_a_traceback(files):
    result = invoke("run", files / "p.policy", "--records", files / "nope.csv")
    assert result.exit_code == 1
    assert "Traceback" not in result.output and "nope.csv" in result.output


@pytest.mark.parametrize("fmt, marker", [("dot", "digraph"), ("mermaid", "flowchart LR"), ("json", '"edges"')])
def test_graph_formats(files, fmt, marker):
    result = invoke("graph", files / "p.policy", "--format", fmt)
    assert result.exit_code == 0 and marker in result.output
    if fmt == "json":
        data = json.loads(result.output)
        edges = {(e["from"], e["to"]) for e in data["edges"]}
        assert ("星级", "星级奖励") in edges and ("每星奖励", "星级奖励") in edges


@pytest.mark.parametrize("command", ["check", "run", "graph", "test"])
def test_help(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0 and "Usage" in result.output
