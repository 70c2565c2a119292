"""Every shipped county policy checks clean and every `example` block in it passes."""

from pathlib import Path

import pytest

from policydsl import api

REPO = Path(__file__).resolve().parents[1]
POLICIES = sorted((REPO / "policies").glob("*/*.policy"))


def test_there_are_policies_for_all_five_counties():
    counties = {p.parent.name for p in POLICIES}
    assert {"xiangan", "longshan", "jinyuan", "xinmi", "jiangbei"} <= counties


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_policy_checks_clean_and_examples_pass(path):
    report = api.check([str(path)])
    assert report.ok, report.render()
    policy = report.policies[str(path)]
    assert policy.examples, f"{path} has no example blocks"
    failures = [(o.example.title, o.error, o.mismatches) for o in api.run_examples(policy) if not o.passed]
    assert not failures


COUNTY_POLICIES = [p for p in POLICIES if p.parent.name != "variants"]


@pytest.mark.parametrize("path", COUNTY_POLICIES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_examples_cover_every_outcome_row_branch_and_condition(path):
    from policydsl.coverage import coverage
    cov = coverage(api.load_policy(str(path)))
    assert not cov.missed, "\n".join(cov.render())
