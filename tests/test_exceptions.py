"""Exceptions (issue 11): a fact's own definition, labelled exceptions under a condition, two that both apply an
error citing both — on both engines, in variants, in explanations."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from policydsl import api, explain
from policydsl.engines.row import Engine
from policydsl.explain.formatting import fullwidth

BASE = """\
policy 例外
  subject 候选人
  effective 2024-01-01

record 候选人 key 编号 { 编号: text, 年龄: int, 特别优秀: bool, 退役军人: bool }

fact 年龄上限: int = 35
exception 年龄上限 "特别优秀" when 特别优秀 = 40
exception 年龄上限 "退役军人" when 退役军人 = 38
outcome 年龄符合: bool = 年龄 <= 年龄上限
"""


def _load(tmp_path: Path, text: str, name: str = "p.policy"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    report = api.check([str(path)])
    assert report.ok, report.render()
    return report.policies[str(path)]


def _people():
    return [("A", {"编号": "A", "年龄": 39, "特别优秀": True, "退役军人": False}),
            ("B", {"编号": "B", "年龄": 37, "特别优秀": False, "退役军人": True}),
            ("C", {"编号": "C", "年龄": 36, "特别优秀": False, "退役军人": False}),
            ("D", {"编号": "D", "年龄": 30, "特别优秀": True, "退役军人": True})]


@pytest.mark.parametrize("engine", ["row", "duckdb"])
def test_the_exception_that_holds_decides_and_two_are_an_error(tmp_path, engine):
    from policydsl.engines.sql.runner import evaluate_records
    policy = _load(tmp_path, BASE)
    if engine == "row":
        results = Engine(policy).run(_people()).results
        found = {r.record_id: (r.values.get("年龄符合"), r.error) for r in results}
    else:
        results = evaluate_records(policy, _people())
        found = {rid: (r.values.get("年龄符合"), r.error) for (rid, _), r in zip(_people(), results)}
    assert found["A"] == (True, None)       # 39 ≤ 40 (especially excellent)
    assert found["B"] == (True, None)       # 37 ≤ 38 (veteran)
    assert found["C"] == (False, None)      # 36 > 35 (the general rule)
    assert found["D"][1] == "年龄上限: exceptions “特别优秀” (line 8) and “退役军人” (line 9) both apply"


def test_a_variant_adds_an_exception(tmp_path):
    _load(tmp_path, BASE, "base.policy")
    variant = _load(tmp_path, """\
        policy 变体
          subject 候选人
          effective 2024-01-01
        extends "base.policy"
        exception 年龄上限 "本科以上" when 年龄 < 0 = 50
    """, "variant.policy")
    rows = variant.nodes["年龄上限"].body.rows
    assert [r.label for r in rows] == ["特别优秀", "退役军人", "本科以上", None]


def test_the_explanation_names_the_exception(tmp_path):
    policy = _load(tmp_path, BASE)
    x = explain.explain_record(policy, _people()[0][1], record_id="A", lang="zh")
    assert fullwidth("例外「特别优秀」:特别优秀?是 → 40") in explain.render(x, "text")
    x = explain.explain_record(policy, _people()[2][1], record_id="C", lang="en")
    assert "no exception applies, so the general rule → 35" in explain.render(x, "text")
