"""Every shipped county policy checks clean and every `example` block in it passes."""

import re
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


# ------------------------------------------------------------------------------------------------ what a citizen's page reads

SHIPPED_FILES = sorted((REPO / "policies").glob("*.policy")) + POLICIES
STRING = re.compile(r'"([^"\\]*)"')

#: Inputs a person cannot change (dates of birth, findings against them, departures, party dates, tenure).
NEVER_ACTIONABLE = ("出生日期", "入党日期", "转正日期", "年龄", "党员", "任职年限", "工作年限", "违法违纪受处分",
                    "主动辞职", "正常离任", "负面情形数", "严重问题", "有十种情形", "受过刑事处罚", "政治品行差",
                    "参与宗教迷信", "直系亲属在村任职", "两委干部近亲属", "擅离", "上年星级", "上年学历", "因公死亡")


@pytest.mark.parametrize("path", SHIPPED_FILES, ids=lambda p: p.relative_to(REPO / "policies").as_posix())
def test_sources_cite_documents_and_no_internal_label_is_shown(path):
    text = path.read_text(encoding="utf-8")
    assert not re.search(r'(?:^|\s)(?:source|依据) "', text), "a source names its document: source DOC \"clause\""
    shown = [s for line in text.splitlines() if not line.lstrip().startswith("#") for s in STRING.findall(line)]
    assert not [s for s in shown if re.search(r"\bseed \d{3}\b", s)]


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_policy_names_its_documents_recourse_and_title_in_both_languages(path):
    from policydsl import naming
    policy = api.load_policy(str(path))
    assert naming.title(policy, "en") != naming.title(policy, "zh")
    docs = naming.documents(policy)
    assert docs and all(d.en and (d.issuer and d.date or d.assumed) for d in docs)
    recourse = naming.recourse(policy)
    assert recourse is not None and recourse.office and recourse.office_en and recourse.contact
    assert recourse.review and recourse.review.within and recourse.appeal and recourse.appeal.within
    assert recourse.assumed is not None and recourse.assumed.en  # the seeds give no recourse: it is an assumption


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_only_inputs_a_person_can_change_are_actionable(path):
    from policydsl import naming
    policy = api.load_policy(str(path))
    assert not [f for f in NEVER_ACTIONABLE if naming.actionable(policy, f)]


def test_education_is_actionable_though_its_field_is_named_after_its_enum():
    from policydsl import naming
    policy = api.load_policy(str(REPO / "policies/longshan/eligibility.policy"))
    assert naming.actionable(policy, "学历") and naming.member_label(policy, "学历", "大专", "en") == \
        "college (associate degree)"
    assert naming.is_serious(policy, "人选资格", False) and not naming.is_serious(policy, "人选资格", True)
