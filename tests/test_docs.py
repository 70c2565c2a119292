"""The policies printed in the docs are complete files that check clean and whose examples pass.

A block opened with ```policy is a whole policy file; ```policy NAME or ```csv NAME is a file of that name which the
other blocks of the same page may import, extend or load (it is written beside them).
"""

import re
from pathlib import Path

import pytest

from policydsl import api

DOCS = Path(__file__).resolve().parents[1] / "docs"
BLOCK = re.compile(r"```(policy|csv)(?: ([\w.]+))?\n(.*?)```", re.S)


def pages():
    return {doc: BLOCK.findall(doc.read_text(encoding="utf-8")) for doc in sorted(DOCS.glob("*.md"))}


def cases():
    for doc, blocks in pages().items():
        for i, (kind, name, _) in enumerate(blocks, start=1):
            if kind == "policy":
                yield pytest.param(doc, i - 1, id=f"{doc.name}#{i}{'-' + name if name else ''}")


@pytest.mark.parametrize("doc, index", list(cases()))
def test_doc_policy_checks_and_its_examples_pass(tmp_path, doc, index):
    blocks = pages()[doc]
    for _kind, name, text in blocks:
        if name:
            (tmp_path / name).write_text(text, encoding="utf-8")
    kind, name, text = blocks[index]
    path = tmp_path / (name or "doc.policy")
    path.write_text(text, encoding="utf-8")
    report = api.check([str(path)])
    assert report.ok, report.render()
    policy = report.policies[str(path)]
    if name:  # a support file (a base or a library) needs no examples of its own
        return
    assert policy.examples, "a policy printed in the docs shows at least one example"
    for engine in ("row", "duckdb"):  # every construct of the reference, on both engines
        failed = [(o.example.title, o.error, o.mismatches) for o in api.run_examples(policy, on=engine)
                  if not o.passed]
        assert not failed, engine


def test_the_tutorials_and_the_reference_have_runnable_policies():
    counts = {doc.name: sum(kind == "policy" for kind, _, _ in blocks) for doc, blocks in pages().items()}
    assert counts["tutorial.en.md"] >= 3 and counts["tutorial.zh.md"] >= 3
    assert counts["language.md"] >= 5


def test_the_reference_lists_every_chinese_keyword_beside_its_english_one():
    from policydsl import surface
    text = (Path(__file__).resolve().parents[1] / "docs" / "language.md").read_text(encoding="utf-8")
    pairs = {**surface.KEYWORDS, **surface.FUNCTIONS, **surface.NAMES, **surface.OPTION_WORDS,
             **{" ".join(k): v for k, v in surface.PHRASES.items()}}
    missing = [en for en, zh in pairs.items() if f"| `{en}` | `{zh}` |" not in text]
    assert missing == []
