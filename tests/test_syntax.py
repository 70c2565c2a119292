"""Parser: every construct parses into the expected AST; random text only ever yields diagnostics."""

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from policydsl import ast
from policydsl.syntax import SyntaxFailure, parse_module
from policydsl.types import Duration


def one(text: str) -> ast.Decl:
    decls = parse_module(text).decls
    assert len(decls) == 1
    return decls[0]


def expr(text: str) -> ast.Expr:
    return one(f"fact x = {text}").expr


def test_header_with_all_clauses():
    h = one('policy 晋源区书记星级 "Jinyuan stars" subject 书记 source "seed 002" effective 2022-01-01')
    assert h == ast.PolicyHeader("晋源区书记星级", "Jinyuan stars", "书记", "seed 002", date(2022, 1, 1))


def test_import_extends_enum_record_list():
    m = parse_module('''
        import "base.policy"
        extends "jinyuan.policy"
        enum 学历 ordered { 初中, 高中, "大专及以上" }
        record 社区 key 编码 { 编码: text, 网格: list of 网格 by 社区编码
                              类型: enum 社区类型 { 城市社区, 农村社区 } }
        list 清单 from "duties.csv" key 编号 { 编号: text } source "seed 003"
    ''')
    imp, ext, enum, rec, lst = m.decls
    assert imp == ast.Import("base.policy") and ext == ast.Extends("jinyuan.policy")
    assert enum.ordered and [label.name for label in enum.labels] == ["初中", "高中", "大专及以上"]
    assert rec.key == "编码" and rec.fields[1].type == ast.ListType("网格", "社区编码")
    assert rec.fields[2].type == ast.InlineEnum("社区类型", False, (ast.Label("城市社区"), ast.Label("农村社区")))
    assert lst.path == "duties.csv" and lst.notes.sources == ("seed 003",)


def test_params_single_and_dated_with_citations():
    p = one('param 每星奖励: money = 1000 元 source "每增加一个星级奖励1000元"')
    assert p.values[0].value == ast.Literal("money", Decimal(1000), "1000 元")
    assert p.values[0].notes.sources == ("每增加一个星级奖励1000元",)
    d = one('param w: money { from 2023-01-01 = 3.5 万元 assumed "not given" from 2024-01-01 = 1 元 }')
    assert [v.start for v in d.values] == [date(2023, 1, 1), date(2024, 1, 1)]
    assert d.values[0].value.value == Decimal(35000)
    assert d.values[0].notes.assumed.text == "not given"


def test_literals():
    assert expr("30%").value == Decimal("0.3")
    assert expr("30％").value == Decimal("0.3")
    assert expr("2.5").value == Decimal("2.5") and expr("7").value == 7
    assert expr("6 个月").value == (6, "month") and expr("1 年").value == (1, "year")
    assert expr("2024-02-29").value == date(2024, 2, 29)
    assert expr('"a\\"b"').value == 'a"b'
    assert expr("true").value is True
    assert Duration.of(2, "quarter") == Duration(6, 0)


def test_operator_precedence_and_aliases():
    e = expr("a + b * c >= 3 and not d or e")
    assert e.op == "or" and e.left.op == "and"
    cmp = e.left.left
    assert cmp.op == ">=" and cmp.left.op == "+" and cmp.left.right.op == "*"
    assert expr("a ≥ 1").op == ">=" and expr("a ≠ 1").op == "!=" and expr("a × 2").op == "*"
    assert expr("x not in [1, 2]").op == "not in"


def test_if_match_calls_aggregates_lookup():
    assert isinstance(expr("if a then 1 else 2"), ast.IfExpr)
    m = expr("match 考核 { 优秀 -> 2, 称职 | 基本称职 -> 1 else -> 0 }")
    assert [[label.name for label in arm.labels] for arm in m.arms] == [["优秀"], ["称职", "基本称职"]]
    assert m.default == ast.Literal("int", 0, "0")
    c = expr("count(网格 where 人口 > 2000)")
    assert c.func == "count" and c.where.op == ">"
    assert expr("sum(网格, 人口)").args[1] == ast.Name("人口")
    look = expr("清单[编号].主责单位")
    assert isinstance(look, ast.Attr) and isinstance(look.obj, ast.Index)
    assert expr("clamp（x，0，5）").func == "clamp"  # full-width punctuation


def test_table_eligibility_summary_example():
    t = one('outcome table 星: int (first hit) { when a >= 10 -> 2 source "s" otherwise -> 0 }')
    assert t.is_outcome and t.hit == "first" and t.rows[1].condition is None
    assert t.rows[0].notes.sources == ("s",)
    el = one('eligibility 资格 { 年龄: 年龄 <= 57 explain zh "年龄 {{ 年龄 }}" 党龄: 党龄 >= 1 }')
    assert [c.name for c in el.conditions] == ["年龄", "党龄"] and el.conditions[0].notes.explains[0].lang == "zh"
    s = one("summary 总数: int = count(records)")
    assert s.name == "总数"
    ex = one('example "e" { as of 2024-01-01 given 书记 { a: 1, 网格: [ { b: 2 } ] } expect x = 3, y = 2000 元 }')
    assert ex.as_of == date(2024, 1, 1) and ex.record_type == "书记"
    assert [e.name for e in ex.expects] == ["x", "y"]
    assert isinstance(ex.given.fields[1].value.items[0], ast.RecordLit)


def test_override_flags():
    assert one("override param p: int = 1").override
    assert one("override outcome x = 1").override and one("override table t (unique) { otherwise -> 1 }").override


def test_spans_point_at_the_source():
    decl = parse_module("\n\nfact 星级 = 1 + 上年星级", "f.policy").decls[0]
    name = decl.expr.right
    assert (name.span.file, name.span.line, name.span.col, name.span.end_col) == ("f.policy", 3, 15, 19)


FRAGMENTS = ["policy", "fact", "outcome", "table", "when", "->", "otherwise", "{", "}", "(", ")", "=", "==", "星级",
             "x", "1", "2.5", "30%", "元", "年", "2024-01-01", '"t"', "match", "if", "then", "else", "and", ":",
             ",", "[", "]", "record", "enum", "param", "from", "#", "\n", "；", "“", "example", "given", "expect"]


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=80), st.lists(st.sampled_from(FRAGMENTS), max_size=30).map(" ".join)))
def test_random_text_never_crashes_the_parser(text):
    try:
        parse_module(text, "fuzz.policy")
    except SyntaxFailure as failure:
        assert failure.diagnostics and all(d.span.file == "fuzz.policy" for d in failure.diagnostics)
        assert all(d.message for d in failure.diagnostics)


def test_header_can_mark_its_dates_assumed(tmp_path):
    from policydsl import api
    from policydsl.formatter import format_module
    text = 'policy p "t" subject R effective 2022-01-01 assumed "the article is undated"\nrecord R key id { id: text }\n'
    module = parse_module(text)
    assert module.decls[0].assumed == "the article is undated"
    assert parse_module(format_module(module)) == module
    path = tmp_path / "p.policy"
    path.write_text(text, encoding="utf-8")
    policy = api.load_policy(str(path))
    assert [(a.name, a.reason) for a in policy.assumptions] == [("policy p", "the article is undated")]
