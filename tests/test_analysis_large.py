"""Large tables (more rows than the exact analysis takes) are checked by sorting intervals (`policydsl.sweep`).

Each finding of the exact analysis has its large-table counterpart here, on tables of 1,000 rows; and on small
tables over one key, the sweep and the exact analysis find the same rows (a hypothesis property).
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from policydsl import analysis, api
from policydsl.diagnostics import SourceCache

HEAD = """policy 测试 "大表"
  effective 2024-01-01
record 人 key 编号 {
  编号: text
  年龄: int
  等级: enum { 甲, 乙 }
}
"""
N = 1_000


def policy_text(rows: list[str], hit: str = "unique", otherwise: bool = True) -> str:
    body = "\n".join(rows) + ("\n  otherwise -> -1" if otherwise else "")
    return HEAD + f"table 档: int ({hit}) {{\n{body}\n}}\noutcome 结果: int = 档\n"


def one_per_year(skip: int | None = None) -> list[str]:
    return [f"  when 年龄 >= {i} and 年龄 < {i + 1} -> {i}" for i in range(N) if i != skip]


def findings(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "t.policy"
    path.write_text(text, encoding="utf-8")
    report = api.check([path])
    assert report.ok, report.render()
    return [f"{d.severity}: {d.message}" for d in report.diagnostics]


def test_a_clean_large_table_has_no_finding_and_no_note(tmp_path):
    assert findings(tmp_path, policy_text(one_per_year())) == []


def test_overlapping_rows_of_a_large_unique_table(tmp_path):
    rows = one_per_year()
    rows[500] = "  when 年龄 >= 500 and 年龄 < 502 -> 500"
    assert findings(tmp_path, policy_text(rows)) == [
        "warning: table '档' (unique): rows 501 and 502 both apply when 年龄 = 501"]


def test_a_gap_in_a_large_table(tmp_path):
    rows = one_per_year(skip=777) + ["  when 年龄 < 0 -> 0", f"  when 年龄 >= {N} -> 0"]
    assert findings(tmp_path, policy_text(rows, otherwise=False)) == ["warning: table '档': no row applies when 年龄 = 777"]


def test_a_shadowed_row_of_a_large_first_hit_table(tmp_path):
    rows = one_per_year() + ["  when 年龄 == 42 -> 9"]
    assert findings(tmp_path, policy_text(rows, hit="first")) == [
        f"warning: table '档': row {N + 1} can never fire: earlier rows already apply to every input it would"]


def test_a_row_that_never_applies_in_a_large_table(tmp_path):
    rows = one_per_year() + ["  when 年龄 > 5 and 年龄 < 3 -> 9"]
    assert findings(tmp_path, policy_text(rows)) == [
        f"warning: table '档': row {N + 1} can never apply: its condition is never true"]


def test_a_large_table_over_two_keys_says_what_it_did_not_check(tmp_path):
    rows = [f"  when 年龄 >= {i} and 年龄 < {i + 1} and 等级 == 甲 -> {i}" for i in range(N)]
    rows.append("  when 年龄 == 3 and 等级 != 乙 -> 1")
    found = findings(tmp_path, policy_text(rows))
    assert "warning: table '档' (unique): rows 4 and 1001 both apply when 年龄 = 3, 等级 = 甲" in found
    assert any(f.startswith("note: table '档' has 1,002 rows over 2 keys") for f in found)


def test_a_large_table_of_other_conditions_keeps_the_note(tmp_path):
    rows = [f"  when 年龄 == {i} or 年龄 == {i + N} -> {i}" for i in range(N)]
    found = findings(tmp_path, policy_text(rows))
    assert found == [f"note: table '档' has {N + 1:,} rows: overlaps, shadowed rows and gaps are analysed only for tables "
                     f"of up to {analysis.MAX_ANALYSED_ROWS} rows"]


# ------------------------------------------------------------------------------------------------ agreement

bounds = st.tuples(st.integers(-3, 12), st.integers(0, 6))
ops = st.sampled_from(["range", ">=", "<", "=="])


def _row(kind: str, lo: int, width: int, value: int) -> str:
    cond = {"range": f"年龄 >= {lo} and 年龄 < {lo + width}", ">=": f"年龄 >= {lo}", "<": f"年龄 < {lo}",
            "==": f"年龄 == {lo}"}[kind]
    return f"  when {cond} -> {value}"


@settings(max_examples=120, deadline=None)
@given(rows=st.lists(st.tuples(ops, bounds), min_size=1, max_size=5), hit=st.sampled_from(["unique", "first"]),
       otherwise=st.booleans())
def test_the_sweep_finds_what_the_exact_analysis_finds(tmp_path_factory, rows, hit, otherwise):
    """On tables over one key, the sweep reports the same rows, pairs and gaps as the exact analysis."""
    text = policy_text([_row(k, lo, w, i) for i, (k, (lo, w)) in enumerate(rows)], hit, otherwise)
    path = tmp_path_factory.mktemp("agree") / "t.policy"
    path.write_text(text, encoding="utf-8")
    policy = api.load_policy(path)
    node = policy.nodes["档"]
    analyser = analysis._Analyser(policy, SourceCache())
    exact = sorted(_kind(d.message) for d in analyser.table(node))
    swept = sorted(_kind(d.message) for d in analyser.swept_table(node))
    assert swept == exact, text


def _kind(message: str) -> str:
    """A finding without its example value (the two analyses may pick different examples of the same gap)."""
    return message.split(" when ")[0]
