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


@pytest.mark.parametrize("path", sorted((REPO / "policies").rglob("*.policy")), ids=lambda p: p.name)
def test_formatting_keeps_every_comment_and_is_idempotent(path):
    from policydsl.formatter import format_source
    from policydsl.syntax import parse_comments
    text = path.read_text(encoding="utf-8")
    once = format_source(text, str(path))
    assert sorted(c for _, c in parse_comments(once)) == sorted(c for _, c in parse_comments(text))
    assert format_source(once, str(path)) == once
    assert parse_module(once) == parse_module(text)


def test_fmt_check_and_rewrite(tmp_path):
    from click.testing import CliRunner
    from policydsl.cli import main
    f = tmp_path / "p.policy"
    f.write_text("# stars\nrecord R key id {id: text   # the id\n}\nfact x=1+2 # sum\n", encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(main, ["fmt", "--check", str(f)]).exit_code == 1
    assert runner.invoke(main, ["fmt", str(f)]).exit_code == 0
    assert f.read_text(encoding="utf-8") == "# stars\nrecord R key id {\n  id: text  # the id\n}\n\nfact x = 1 + 2  # sum\n"
    assert runner.invoke(main, ["fmt", "--check", str(f)]).exit_code == 0


idents = st.sampled_from(["星级", "年龄", "x", "上年星级", "人口", "考核", "奖励"])
labels = st.lists(st.sampled_from(["优秀", "称职", "基本称职", "不称职", "大专及以上"]), min_size=1, max_size=4,
                  unique=True).map(lambda xs: tuple(ast.Label(x) for x in xs))
types = st.one_of(st.sampled_from(["int", "money", "percent", "date", "text"]).map(ast.NamedType),
                  st.tuples(idents, st.one_of(st.none(), idents)).map(lambda t: ast.ListType(*t)))
notes = st.lists(st.tuples(st.sampled_from(["source", "assumed"]), st.text(alphabet="依据 seed0\"", max_size=8)),
                 max_size=2).map(lambda cs: ast.Annotations(tuple(ast.Citation(k, t) for k, t in cs)))
rows = st.lists(st.tuples(expressions, expressions, notes).map(lambda t: ast.TableRow(*t)), min_size=1, max_size=3)
declarations = st.one_of(
    st.tuples(idents, st.booleans(), labels).map(lambda t: ast.EnumDecl(*t)),
    st.tuples(idents, st.one_of(st.none(), idents),
              st.lists(st.tuples(idents, types).map(lambda t: ast.FieldDecl(*t)), max_size=3).map(tuple))
    .map(lambda t: ast.RecordDecl(*t)),
    st.tuples(idents, types, expressions, notes, st.booleans()).map(
        lambda t: ast.ParamDecl(t[0], t[1], (ast.DatedValue(None, t[2], t[3]),), t[4])),
    st.tuples(idents, st.one_of(st.none(), types), expressions, st.booleans(), st.booleans(), notes)
    .map(lambda t: ast.ValueDecl(*t)),
    st.tuples(idents, st.sampled_from(["first", "unique"]), rows, expressions, st.booleans(), notes).map(
        lambda t: ast.TableDecl(t[0], None, t[1], tuple(t[2]) + (ast.TableRow(None, t[3], ast.Annotations()),),
                                t[4], False, t[5])),
    st.tuples(idents, st.lists(st.tuples(idents, expressions, notes).map(lambda t: ast.Condition(*t)),
                               min_size=1, max_size=3).map(tuple), st.booleans())
    .map(lambda t: ast.EligibilityDecl(t[0], t[1], t[2], False, ast.Annotations())),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(declarations, min_size=1, max_size=5))
def test_generated_policies_round_trip_and_format_is_idempotent(decls):
    module = ast.Module("g.policy", tuple(decls))
    text = format_module(module)
    parsed = parse_module(text)
    assert parsed == module, text
    assert format_module(parsed) == text
