"""Round trips: parse(format(ast)) == ast for every construct, every shipped policy, and generated expressions."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policydsl import ast
from policydsl.formatter import format_module
from policydsl.syntax import parse_module

REPO = Path(__file__).resolve().parents[1]
FILES = sorted((REPO / "policies").rglob("*.policy")) + sorted((REPO / "tests" / "golden").rglob("*.policy"))


def _parses(path: Path):
    try:
        return parse_module(path.read_text(encoding="utf-8"), str(path))
    except Exception:
        return None


@pytest.mark.parametrize("path", [p for p in FILES if _parses(p) is not None], ids=lambda p: p.name)
def test_round_trip_of_every_parsable_file(path):
    module = _parses(path)
    text = format_module(module)
    again = parse_module(text, str(path))
    assert again == module
    assert format_module(again) == text  # idempotent


names = st.sampled_from(["星级", "年龄", "x", "上年星级", "人口"])
literals = st.one_of(
    st.integers(0, 10**6).map(lambda i: ast.Literal("int", i, str(i))),
    st.sampled_from(["30%", "1000 元", "3.5 万元", "6 个月", "2.5"]).map(lambda t: parse_module(f"fact x = {t}").decls[0].expr),
    st.text(alphabet="ab\"\\中文", max_size=5).map(lambda s: ast.Literal("text", s, "")),
)


def _extend(children):
    binary = st.tuples(st.sampled_from(["+", "-", "*", "/", "==", "<=", "and", "or", "in"]), children, children)
    return st.one_of(
        binary.map(lambda t: ast.Binary(t[0], t[1], t[2])),
        children.map(lambda c: ast.Unary("not", c)),
        children.map(lambda c: ast.Unary("-", c)),
        st.tuples(children, children, children).map(lambda t: ast.IfExpr(*t)),
        st.tuples(names, st.lists(children, min_size=1, max_size=3)).map(
            lambda t: ast.Call(t[0], tuple(t[1]), None)),
        st.tuples(children, names).map(lambda t: ast.Attr(t[0], t[1])),
        st.lists(children, max_size=3).map(lambda items: ast.ListLit(tuple(items))),
    )


expressions = st.recursive(st.one_of(literals, names.map(ast.Name)), _extend, max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(expressions)
def test_generated_expressions_round_trip(e):
    module = ast.Module("g.policy", (ast.ValueDecl("x", None, e, False, False, ast.Annotations()),))
    text = format_module(module)
    assert parse_module(text) == module, text
