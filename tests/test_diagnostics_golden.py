"""Golden files for diagnostics: every `tests/golden/diagnostics/NAME.policy` is checked, and the rendered
diagnostics (paths relative to the repository root) must equal `NAME.expected` byte for byte.

Regenerate after a deliberate change of wording with

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_diagnostics_golden.py

and read the diff: a golden is a specification, not a snapshot to accept blindly. Helper files that the
situations import or extend live in `tests/golden/diagnostics/support/` and are not situations themselves.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from policydsl import api

REPO = Path(__file__).resolve().parents[1]
GOLDEN = Path("tests") / "golden" / "diagnostics"
CASES = sorted(p.stem for p in (REPO / GOLDEN).glob("*.policy"))
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch):
    """Diagnostics name files as they were given; run from the root so they read tests/golden/…"""
    monkeypatch.chdir(REPO)


def test_there_are_enough_situations():
    assert len(CASES) >= 20


@pytest.mark.parametrize("name", CASES)
def test_diagnostics_golden(name: str):
    policy = (GOLDEN / f"{name}.policy").as_posix()
    expected_path = REPO / GOLDEN / f"{name}.expected"
    report = api.check([policy])
    assert report.errors, f"{policy} checks clean, but a golden situation must produce at least one error"
    rendered = report.render() + "\n"
    if UPDATE:
        expected_path.write_text(rendered, encoding="utf-8")
    assert expected_path.exists(), f"no {expected_path.name}; run with UPDATE_GOLDEN=1 to create it"
    assert rendered == expected_path.read_text(encoding="utf-8")


def test_no_orphan_expected_files():
    """An .expected file whose .policy was renamed or removed would silently stop being checked."""
    orphans = sorted(p.name for p in (REPO / GOLDEN).glob("*.expected") if p.stem not in CASES)
    assert not orphans, f"expected files without a policy: {orphans}"
