"""The hostile corpus: inputs a careless or malicious user can give policydsl, written into a folder.

Each generator writes files and returns their paths; `tests/hostile/conftest.py` makes the big ones (deep nesting,
megabyte files) once per test run. The expectations live with the tests.
"""

from __future__ import annotations

from pathlib import Path

HEADER = 'policy 测试 "hostile test"\n  effective 2024-01-01\n\n'

PERSON = """record 人 key 编号 {
  编号: text
  年龄: int
  比例: percent
  工资: money
  备注: text
}
"""

#: A small well-formed policy reading every field, for the record-side cases.
POLICY = HEADER + PERSON + """
param 基数: money = 100 元
fact 加: money = 工资 + 基数
outcome 结果: money = 加 * 比例
outcome 说明: text = 备注
"""

GOOD_ROW = "30,10%,100.00"


def policy_with(body: str, header: str = HEADER, record: str = PERSON) -> str:
    """A policy text with the test header and record, then `body`."""
    return header + record + "\n" + body + "\n"


def deep_expressions(n: int) -> dict[str, str]:
    """Outcome expressions nested `n` levels, in every way an expression can nest."""
    half = n // 2
    return {
        "sum_chain": " + ".join(["年龄"] * n),
        "not_chain": "if " + "not " * n + "(年龄 > 1) then 1 else 0",
        "unary_minus": "-" * n + "年龄",
        "if_else": "".join(f"if 年龄 > {i} then {i} else " for i in range(n)) + "0",
        "parentheses": "(" * n + "年龄" + " + 1)" * n,
        "min_of_min": "min(" * half + "年龄" + ", 1)" * half,
    }


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def records_csv(folder: Path, name: str, rows: list[str]) -> Path:
    """A CSV of 人 records: the header, then `rows` as written (raw lines, so they may be malformed)."""
    return write(folder, name, "编号,年龄,比例,工资,备注\n" + "".join(r + "\n" for r in rows))
