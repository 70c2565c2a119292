"""The VS Code extension under editors/vscode: valid JSON, and highlighting for every keyword of the grammar."""

from __future__ import annotations

import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VSCODE = REPO / "editors" / "vscode"


def load(name: str) -> dict:
    return json.loads((VSCODE / name).read_text(encoding="utf-8"))


def grammar_keywords() -> set[str]:
    """Every word the lark grammar spells out in quotes ("policy", "when", "万元", …)."""
    text = (REPO / "grammar" / "policydsl.lark").read_text(encoding="utf-8")
    text = "\n".join(line.split("//")[0] for line in text.splitlines())
    return {w for w in re.findall(r'"([^"\\]+)"', text) if re.fullmatch(r"[^\W\d]\w*", w)}


def patterns(node) -> list[str]:
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ("match", "begin") and isinstance(v, str):
                out.append(v)
            else:
                out += patterns(v)
    elif isinstance(node, list):
        for v in node:
            out += patterns(v)
    return out


def test_files_are_valid_json():
    pkg = load("package.json")
    conf = load("language-configuration.json")
    tm = load("syntaxes/policydsl.tmLanguage.json")
    assert pkg["contributes"]["languages"][0]["extensions"] == [".policy"]
    assert pkg["contributes"]["grammars"][0]["scopeName"] == tm["scopeName"] == "source.policydsl"
    assert (VSCODE / pkg["contributes"]["grammars"][0]["path"]).exists()
    assert conf["comments"]["lineComment"] == "#"
    assert ["{", "}"] in conf["brackets"] and ["(", ")"] in conf["brackets"]


def test_every_grammar_keyword_is_highlighted():
    tm = load("syntaxes/policydsl.tmLanguage.json")
    regexes = [re.compile(p) for p in patterns(tm)]   # the patterns are also valid Python regexes
    keywords = grammar_keywords()
    assert {"policy", "when", "otherwise", "eligibility", "match", "万元"} <= keywords
    missing = []
    for kw in sorted(keywords):
        # a unit is highlighted after a number ("3 年"), a keyword on its own
        if not any((m := r.search(s)) and kw in m.group(0) for r in regexes for s in (kw, f"3 {kw}")):
            missing.append(kw)
    assert missing == []


def test_keywords_are_not_highlighted_inside_names():
    tm = load("syntaxes/policydsl.tmLanguage.json")
    words = [re.compile(p["match"]) for p in tm["repository"]["keyword"]["patterns"]]
    assert not any(r.search("任职年限 ifx whenever") for r in words)
    assert any(r.search("when 任职年限 >= 5") for r in words)
