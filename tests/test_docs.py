"""The policies printed in the docs are complete files that check clean and whose examples pass."""

import re
from pathlib import Path

import pytest

from policydsl import api

DOCS = Path(__file__).resolve().parents[1] / "docs"
BLOCK = re.compile(r"```policy\n(.*?)```", re.S)


def blocks():
    for doc in sorted(DOCS.glob("*.md")):
        for i, text in enumerate(BLOCK.findall(doc.read_text(encoding="utf-8")), start=1):
            yield pytest.param(text, id=f"{doc.name}#{i}")


@pytest.mark.parametrize("text", list(blocks()))
def test_doc_policy_checks_and_its_examples_pass(tmp_path, text):
    path = tmp_path / "doc.policy"
    path.write_text(text, encoding="utf-8")
    report = api.check([str(path)])
    assert report.ok, report.render()
    policy = report.policies[str(path)]
    assert policy.examples, "a policy printed in the docs shows at least one example"
    failed = [(o.example.title, o.error, o.mismatches) for o in api.run_examples(policy) if not o.passed]
    assert not failed


def test_the_tutorials_have_runnable_policies():
    assert len([b for b in blocks() if "tutorial" in b.id]) >= 3
