"""Variants that change the schema (issue 11): `override record` adds or retypes fields, `map` computes a base's input
field from the variant's own — Henan's rule (Xinmi's file) on Xiang'an's records, on both engines and in compare."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from policydsl import api
from policydsl.cli import main

REPO = Path(__file__).resolve().parents[1]
VARIANT = REPO / "policies/variants/henan_18_on_xiangan.policy"
RECORDS = ["--records", str(REPO / "data/xiangan/communities.csv"),
           "--related", f"工作者={REPO / 'data/xiangan/workers.csv'}"]


def test_the_mapped_field_leaves_the_record_and_becomes_a_fact():
    policy = api.load_policy(str(VARIANT))
    assert "城镇常住人口" not in policy.subject.field_names and "常住人口" in policy.subject.field_names
    assert policy.nodes["城镇常住人口"].kind == "fact"


def test_xinmi_rule_on_xiangan_records_agrees_on_both_engines(tmp_path):
    outs = {}
    for engine in ("row", "duckdb"):
        out = tmp_path / f"{engine}.csv"
        result = CliRunner().invoke(main, ["run", str(VARIANT), *RECORDS, "--engine", engine, "--out", str(out)])
        assert result.exit_code == 0, result.output
        outs[engine] = out.read_bytes()
    assert outs["row"] == outs["duckdb"]
    rows = outs["row"].decode().splitlines()
    assert rows[0].startswith("编码,最低配置人数") and len(rows) == 129  # 128 communities, every one evaluated
    assert "XA001,14," in outs["row"].decode()  # 7,665 residents × 18 / 10,000 = 13.797 → at least 14


@pytest.mark.parametrize("engine", ["row", "duckdb"])
def test_compare_runs_a_mapped_variant_against_another(tmp_path, engine):
    other = tmp_path / "twenty.policy"
    other.write_text(textwrap.dedent(f"""\
        policy 每万20 "20 per 10,000 on Xiang'an"
          subject 新密社区
          effective 2024-01-01
        extends "{VARIANT.as_posix()}"
        override param 每万人最低配置: int = 20  assumed "a variant for the comparison"
    """), encoding="utf-8")
    out = tmp_path / "report.md"
    result = CliRunner().invoke(main, ["compare", str(VARIANT), str(other), *RECORDS, "--engine", engine,
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = out.read_text(encoding="utf-8")
    assert "共 128 条，128 条在各方案下均已计算" in report
    assert "最低配置人数" in report


@pytest.mark.parametrize("text, message", [
    ("map 人口 = 常住人口", "新密社区 has no field '人口' to map"),
    ("map 编码 = 名称", "'编码' is the key of 新密社区: it cannot be computed"),
    ("override record 不存在 { 人口: int }", "'不存在' overrides nothing: no imported or base definition has that name"),
])
def test_mistakes_in_a_schema_variant(tmp_path, text, message):
    path = tmp_path / "v.policy"
    path.write_text(textwrap.dedent(f"""\
        policy v
          subject 新密社区
          effective 2024-01-01
        extends "{(REPO / 'policies/xinmi/staffing.policy').as_posix()}"
        override record 新密社区 {{ 常住人口: int }}
        {text}
    """), encoding="utf-8")
    report = api.check([str(path)])
    assert message in [d.message for d in report.errors], report.render()
