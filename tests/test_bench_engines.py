"""The benchmark's baselines compute what the policies compute (bench/bench_engines.py's correctness check).

The hand-written DuckDB SQL of bench/handwritten_sql.py and the OpenFisca systems of bench/openfisca_rules.py are
written by hand from the policy files; if a policy changes and they do not, the benchmark would time different
work. So the check the benchmark runs before timing runs here on the shipped data (with the benchmark's edge cases
added): each baseline's output against `policydsl run`'s. Timing is never tested.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
import bench_engines  # noqa: E402  (bench/ is not a package: imported from its folder)

pytest.importorskip("duckdb")
pytestmark = pytest.mark.slow  # about 10 s: `policydsl run` and each baseline in a child process, per case

CASES = list(bench_engines.CASES)


def _have_openfisca() -> bool:
    return importlib.util.find_spec("openfisca_core") is not None and importlib.util.find_spec("pandas") is not None


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    """case → (folder, out dir, {system: (same?, note)}): the check run once per case, every baseline in it."""
    systems = ["sql", "floor"] + (["openfisca"] if _have_openfisca() else [])
    done = {}
    for name, case in bench_engines.CASES.items():
        root = tmp_path_factory.mktemp(name)
        folder = bench_engines.shipped_sample(case, root / "data")
        done[name] = folder, root / "out", bench_engines.check_case(case, folder, systems, root / "out")
    return done


@pytest.mark.parametrize("case_name", CASES)
def test_hand_written_sql_matches_the_policy(case_name, checked):
    found = checked[case_name][2]
    assert found["sql"][0] is True, found["sql"][1]
    assert "byte-identical" in found["sql"][1]
    assert found["floor"][0] is True, found["floor"][1]


@pytest.mark.parametrize("case_name", CASES)
def test_openfisca_matches_the_policy(case_name, checked):
    if not _have_openfisca():
        pytest.skip("openfisca-core / pandas not installed (pip install -e '.[bench]')")
    found = checked[case_name][2]
    assert found["openfisca"][0] is True, found["openfisca"][1]


def test_the_check_catches_a_wrong_baseline(checked, tmp_path):
    """The comparison is not vacuous: one fen off in one cell of the hand-written SQL's output is caught."""
    folder, out, _ = checked["jinyuan"]
    lines = (out / "jinyuan-sql.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    col = lines[0].rstrip("\n").split(",").index("基础工资")
    cells = lines[1].rstrip("\n").split(",")
    cells[col] = f"{float(cells[col]) - 0.01:.2f}"
    lines[1] = ",".join(cells) + "\n"
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("".join(lines), encoding="utf-8")
    ok, note = bench_engines.verdict("sql", out / "jinyuan-row.csv", wrong,
                                     folder / bench_engines.CASES["jinyuan"].records)
    assert not ok and "基础工资" in note
    # compared numerically (as OpenFisca's float32 output is), one fen is within the tolerance: that is why the
    # SQL baselines are compared as text
    _, problems, inexact = bench_engines.compare_outputs(out / "jinyuan-row.csv", wrong, numeric=True)
    assert not problems and inexact == 1
