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
    # no blank line is added where the author had none
    assert f.read_text(encoding="utf-8") == "# stars\nrecord R key id {\n  id: text  # the id\n}\nfact x = 1 + 2  # sum\n"
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


# ------------------------------------------------------------------------------------------------ the shipped layout

SHIPPED = sorted((REPO / "policies").rglob("*.policy"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(REPO / "policies")))
def test_every_shipped_policy_is_in_canonical_form(path):
    """`policydsl fmt --check` passes on every shipped file (CI keeps them so): reformat with `policydsl fmt`."""
    from policydsl.formatter import format_source
    text = path.read_text(encoding="utf-8")
    assert format_source(text, str(path)) == text, f"run: policydsl fmt {path.relative_to(REPO)}"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(REPO / "policies")))
def test_shipped_policies_stay_within_the_width(path):
    """Only what cannot be broken runs past 120 columns (CJK counted as two): texts, comments, titles, a table
    header with an inline enum, an operand of a broken chain."""
    from policydsl.diagnostics import display_width
    from policydsl.formatter import WIDTH
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if display_width(line) > WIDTH:
            assert '"' in line or "#" in line or line.startswith(("outcome table", "  and ")), (number, line)


def fmt(text: str) -> str:
    from policydsl.formatter import format_source
    once = format_source(text)
    assert format_source(once) == once, once  # idempotent
    assert parse_module(once) == parse_module(text)  # same meaning
    return once


def test_runs_of_params_stay_runs_and_blank_lines_collapse():
    text = ("param a: int = 1\nparam b: int = 2\n\n\n\nparam c: int = 3\n"
            "# about d\n\nparam d: int = 4\nfact x = a\nfact y = b\n")
    assert fmt(text) == ("param a: int = 1\nparam b: int = 2\n\nparam c: int = 3\n"
                         "# about d\n\nparam d: int = 4\nfact x = a\nfact y = b\n")


def test_param_citations_stay_on_the_line_when_it_fits_and_line_up_in_a_run():
    long = "x" * 100
    text = (f'param 每星奖励: money = 1000 元 source "seed"\nparam 上限: int = 5   assumed "none given"\n'
            f'param 长: int = 1 source "{long}"\n\nparam 下: int = 2\n  source "kept below, as written"\n')
    assert fmt(text) == (f'param 每星奖励: money = 1000 元  source "seed"\nparam 上限: int = 5              assumed "none given"\n'
                         f'param 长: int = 1\n  source "{long}"\n\nparam 下: int = 2\n  source "kept below, as written"\n')


def test_a_run_too_wide_to_line_up_keeps_two_spaces():
    text = f'param a: int = 1  source "{"x" * 90}"\nparam 一个长名字的参数: int = 2  source "s"\n'
    assert fmt(text) == text


def test_hit_policies_have_one_spelling_and_both_parse():
    text = ("table a: int (first) { otherwise -> 1 }\ntable b: int (first hit) { otherwise -> 1 }\n"
            "table c: int (unique hit) { otherwise -> 1 }\ntable d: int (unique) { otherwise -> 1 }\n")
    out = fmt(text)
    assert out.count("(first hit)") == 2 and out.count("(unique)") == 2 and "unique hit" not in out
    assert [d.hit for d in parse_module(out).decls] == ["first", "first", "unique", "unique"]


def test_trailing_comments_of_a_record_line_up_counting_cjk_as_two_columns():
    text = "record R key 编号 {\n  编号: text # id\n  姓名: text\n  入党日期: date   # join\n  x: int #x\n}\n"
    assert fmt(text) == ("record R key 编号 {\n  编号: text      # id\n  姓名: text\n  入党日期: date  # join\n"
                         "  x: int          #x\n}\n")


def test_a_much_longer_field_does_not_push_the_other_comments_past_the_width():
    wide = "enum E { " + ", ".join(f"标签{i}" for i in range(12)) + " }"
    text = f"record R {{\n  a: int  # {'c' * 60}\n  b: {wide}  # {'d' * 60}\n}}\n"
    out = fmt(text)
    assert f"  a: int  # {'c' * 60}" in out and f"  b: {wide}  # {'d' * 60}" in out


def test_a_long_given_record_wraps_with_a_hanging_indent_and_keeps_the_authors_lines():
    fields = ", ".join(f"字段{i}: {i * 1000}" for i in range(9))
    one_line = f'example "e" {{\n  given R {{ 编号: "甲", {fields}, 名称: "{"名" * 20}" }}\n  expect x = 1\n}}\n'
    out = fmt(one_line)
    lines = out.splitlines()
    assert len(lines) == 5 and lines[2].startswith("    ") and all(len(x) <= 120 for x in lines)
    authors = 'example "e" {\n  given R { 编号: "甲", 名称: "乙",\n    年龄: 1, 党员: true }\n  expect x = 1\n}\n'
    assert fmt(authors) == authors


def test_an_overflowing_field_joins_the_authors_next_line_or_takes_one_more_field_along():
    first = '编号: "T03", 名称: "建筑垃圾清运", 来源部门: "区综合行政执法局", 事项类型: 上级交办, 来源层级: 区级部门,'
    second = "已列入清单: false, 依据已修订废止: false, 有法律法规规章依据: true,"
    text = f'example "e" {{\n  given 江北事项 {{ {first}\n    {second}\n    联审: true }}\n  expect x = 1\n}}\n'
    assert fmt(text).splitlines()[1:3] == [  # the last field of the too-long line joins the next one
        '  given 江北事项 { 编号: "T03", 名称: "建筑垃圾清运", 来源部门: "区综合行政执法局", 事项类型: 上级交办,',
        f"    来源层级: 区级部门, {second}"]
    one = ('example "e" {\n  given 坐班记录 { 编号: "H1", 社区编码: "LS-V001", 村社类型: 行政村, 日期: 2019-04-01, '
           '工作日: true, 坐班小时: 6.0, 坐班人数: 3 }\n  expect x = 1\n}\n')
    assert fmt(one).splitlines()[1:3] == [  # no field alone on the last line
        '  given 坐班记录 { 编号: "H1", 社区编码: "LS-V001", 村社类型: 行政村, 日期: 2019-04-01, 工作日: true,',
        "    坐班小时: 6.0, 坐班人数: 3 }"]


def test_lists_of_records_in_a_given():
    row = '{ 编号: "G{}", 社区编码: "C1", 人口: 1500, 户数: 450 }'
    rows = [row.replace("{}", str(i)) for i in range(3)]
    trailing = ('example "e" {\n  given 社区 { 编码: "C1", 名称: "甲社区", 户数: 1200, 微网格数: 18, 网格: [\n'
                + ",\n".join(f"    {r}" for r in rows) + " ] }\n  expect x = 1\n}\n")
    assert fmt(trailing) == trailing  # `name: [` ends a line: the records below, one a line
    aligned = ('example "e" {\n  given 社区 { 编码: "C1", 名称: "甲社区",\n    网格: [ ' + rows[0] + ",\n"
               + "".join(f"            {r},\n" for r in rows[1:-1]) + f"            {rows[-1]} ],\n"
               "    工作者: [] }\n  expect x = 1\n}\n")
    assert fmt(aligned) == aligned  # `name: [` begins a line: the records line up after it
    small = '{ 编号: "W{}", 岗位: 书记 }'
    many = ", ".join(small.replace("{}", str(i)) for i in range(12))
    out = fmt(f'example "e" {{\n  given 社区 {{ 编码: "C1", 工作者: [ {many} ] }}\n  expect x = 1\n}}\n')
    assert max(len(x) for x in out.splitlines()) <= 120 and out.count("{ 编号") == 12
    assert all(x.startswith("    { 编号") for x in out.splitlines()[3:-2])


def test_expect_lines_keep_the_authors_groups_and_a_long_group_continues_on_another_expect():
    text = 'example "e" {\n  given R { a: 1 }\n  expect 甲 = 1, 乙 = 2\n  expect 丙 = 3\n}\n'
    assert fmt(text) == text
    many = ", ".join(f"结果{i} = {i * 1000} 元" for i in range(12))
    out = fmt(f'example "e" {{\n  given R {{ a: 1 }}\n  expect {many}\n}}\n')
    expects = [x for x in out.splitlines() if x.startswith("  expect ")]
    assert len(expects) == 2 and all(len(x) <= 120 for x in expects)


def test_long_expressions_break_at_their_outermost_construct():
    cond = " and ".join(f"条件{i} >= {i}" for i in range(8))
    text = (f"fact 甲: int = if {cond} then 1 else if 乙 then 2 else 3\n"
            f"fact 和: int = 人口权重 * 常住人口 + 面积权重 * 面积 + 经营主体权重 * 经营主体数 + 其他权重 * 其他数量 + 第五项 * 第五个量\n"
            f"summary 达标: bool = {cond} and {cond}\n")
    assert fmt(text) == (
        f"fact 甲: int =\n  if {cond}\n  then 1\n  else if 乙 then 2\n  else 3\n"
        f"fact 和: int =\n  人口权重 * 常住人口 + 面积权重 * 面积 + 经营主体权重 * 经营主体数 + 其他权重 * 其他数量 + 第五项 * 第五个量\n"
        f"summary 达标: bool =\n      " + "\n  and ".join([f"条件{i} >= {i}" for i in range(8)] * 2) + "\n")


def test_an_expression_the_author_broke_stays_broken_and_one_that_fits_stays_on_its_line():
    broken = ("fact 综合指数: decimal =\n    人口权重 * 常住人口 / 人口基准\n  + 面积权重 * 面积 / 面积基准\n"
              "  source \"seed\"\n"
              "outcome 架构: text =\n  if 农村 then \"三级\"\n  else \"四级\"\n"
              "outcome 每万人: decimal =\n  if 人口 == 0 then 0.0 else round(人数 * 10000 / 人口, 2)\n")
    assert fmt(broken) == broken
    assert fmt("fact a: int =\n  1 +\n 2\n") == "fact a: int =\n    1\n  + 2\n"


def test_a_match_breaks_one_arm_a_line_or_as_the_author_grouped_the_arms():
    arms = ", ".join(f"标签{i} -> 数值{i}" for i in range(10))
    out = fmt(f"fact 码: int = match 类型 {{ {arms} }}\n")
    assert out == "fact 码: int = match 类型 {\n" + ",\n".join(f"    标签{i} -> 数值{i}" for i in range(10)) + " }\n"
    grouped = ("fact 细分码: int = match 细分类型 {\n    拆迁安置型 -> 1, 村改居型 -> 2,\n    城镇化村 -> 1,\n"
               "    不细分 -> 0 }\n  assumed \"code digits are not in seed 004\"\n")
    assert fmt(grouped) == grouped
    closing = "outcome 扣减: money = match 处理 {\n  甲 -> 1 元,\n  乙 -> 2 元\n}\n  source \"s\"\n"
    assert fmt(closing) == "outcome 扣减: money = match 处理 {\n    甲 -> 1 元,\n    乙 -> 2 元 }\n  source \"s\"\n"


def test_a_long_row_condition_wraps_under_its_first_operand():
    parts = " and ".join(f"占比{i} <= 主导构成门槛" for i in range(5))
    text = f"table 细分: int (unique) {{\n  when {parts} -> 1\n    assumed \"a\"\n  otherwise -> 0\n}}\n"
    out = fmt(text)
    assert out.splitlines()[2].startswith("       and 占比") and all(len(x) <= 120 for x in out.splitlines())


def test_citations_of_rows_and_conditions_stay_where_the_author_put_them():
    text = ('outcome eligibility 三个标准\n  source "seed 004"\n  assumed "all three" {\n'
            '  法律依据: 有依据  source "a"\n  实际需要: 有实际工作需要  source "b"\n}\n'
            'table 星: int (first hit) source "seed 002" {\n  when 年限 >= 10 -> 2\n    source "c"\n  otherwise -> 0\n}\n')
    assert fmt(text) == ('outcome eligibility 三个标准\n  source "seed 004"\n  assumed "all three" {\n'
                         '  法律依据: 有依据          source "a"\n  实际需要: 有实际工作需要  source "b"\n}\n'
                         'table 星: int (first hit) source "seed 002" {\n  when 年限 >= 10 -> 2\n    source "c"\n'
                         '  otherwise -> 0\n}\n')


def test_an_and_inside_an_or_keeps_its_parentheses():
    assert fmt("fact a: bool = x != 1 or (y and z)\n") == "fact a: bool = x != 1 or (y and z)\n"
    assert fmt("fact a: bool = x or y and z\n") == "fact a: bool = x or (y and z)\n"


def test_comments_inside_an_example_stay_with_their_line():
    text = ('example "e" {\n  as of 2024-01-01\n  # the record\n  given R { a: 1 }  # one field\n'
            '  # what comes out\n  expect x = 1  # first\n  expect y = 2\n  # end\n}\n')
    assert fmt(text) == text


# ------------------------------------------------------------------------------------------------ generated layouts

def _tokens_on_their_own_lines(text: str) -> str:
    """The same policy with every run of blanks outside a quoted text turned into a line break: an author who broke
    every construct everywhere."""
    out, in_string, escaped = [], False, False
    for ch in text:
        if in_string:
            out.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
            out.append(ch)
        elif ch in " \n":
            if out and out[-1] != "\n":
                out.append("\n")
        else:
            out.append(ch)
    return "".join(out)


def _on_one_line(text: str) -> str:
    """The same policy with every line break outside a quoted text turned into a space (no comments in it)."""
    return _tokens_on_their_own_lines(text).replace("\n", " ") + "\n"


field_values = st.one_of(literals, st.lists(
    st.lists(st.tuples(idents, literals), min_size=1, max_size=4).map(
        lambda fs: ast.RecordLit(tuple(ast.FieldInit(n, v) for n, v in fs))), max_size=6).map(
    lambda items: ast.ListLit(tuple(items))))
examples = st.tuples(st.text(alphabet="ab 示例", max_size=10), st.one_of(st.none(), st.just(ast.Literal("int", 0, "0"))),
                     st.one_of(st.none(), idents),
                     st.lists(st.tuples(idents, field_values), max_size=14),
                     st.lists(st.tuples(idents, expressions), min_size=1, max_size=14)).map(
    lambda t: ast.ExampleDecl(t[0], None, t[2], ast.RecordLit(tuple(ast.FieldInit(n, v) for n, v in t[3])),
                              tuple(ast.Expectation(n, v) for n, v in t[4])))
matches = st.tuples(names, st.lists(st.tuples(labels, expressions), min_size=1, max_size=8),
                    st.one_of(st.none(), expressions)).map(
    lambda t: ast.MatchExpr(ast.Name(t[0]), tuple(ast.MatchArm(ls, v) for ls, v in t[1]), t[2]))
long_values = st.tuples(idents, st.one_of(expressions, matches), st.booleans(), notes).map(
    lambda t: ast.ValueDecl(t[0], None, t[1], t[2], False, t[3]))
dated = st.tuples(idents, st.lists(st.tuples(st.dates(), expressions, notes), min_size=1, max_size=3)).map(
    lambda t: ast.ParamDecl(t[0], ast.NamedType("int"), tuple(ast.DatedValue(d, e, n) for d, e, n in t[1]), False))
all_declarations = st.one_of(declarations, examples, long_values, dated)


@settings(max_examples=150, deadline=None)
@given(st.lists(all_declarations, min_size=1, max_size=5))
def test_generated_policies_format_the_same_however_the_author_laid_them_out(decls):
    from policydsl.formatter import format_source
    module = ast.Module("g.policy", tuple(decls))
    text = format_module(module)
    assert parse_module(text) == module, text
    assert format_source(text) == text
    for layout in (_on_one_line(text), _tokens_on_their_own_lines(text)):
        again = format_source(layout)
        assert parse_module(again) == module, again
        assert format_source(again) == again, again


@settings(max_examples=100, deadline=None)
@given(st.lists(all_declarations, min_size=1, max_size=4), st.randoms(use_true_random=False))
def test_comments_anywhere_are_kept_and_settle_after_one_pass(decls, rnd):
    from policydsl.formatter import format_source
    from policydsl.syntax import parse_comments
    module = ast.Module("g.policy", tuple(decls))
    text = format_module(module)
    for layout in (text, _tokens_on_their_own_lines(text)):
        lines = []
        for i, line in enumerate(layout.splitlines()):
            if rnd.random() < 0.2:
                lines.append(f"# above {i}")
            lines.append(line + (f"  # beside {i}" if rnd.random() < 0.2 else ""))
        source = "\n".join(lines) + "\n"
        once = format_source(source)
        assert parse_module(once) == module, once
        assert sorted(c for _, c in parse_comments(once)) == sorted(c for _, c in parse_comments(source)), once
        assert format_source(once) == once, once


@settings(max_examples=150, deadline=None)
@given(st.lists(all_declarations, min_size=1, max_size=5))
def test_the_chinese_keywords_say_the_same_and_convert_back_byte_for_byte(decls):
    """`fmt --keywords zh` and `--keywords en` are lossless: same syntax tree, and back to the same text."""
    from policydsl.formatter import format_source
    module = ast.Module("g.policy", tuple(decls))
    text = format_module(module)
    chinese = format_source(text, keywords="zh")
    assert parse_module(chinese) == module, chinese
    assert format_source(chinese) == chinese, chinese  # a Chinese file stays Chinese
    assert format_source(chinese, keywords="en") == text


def test_every_shipped_policy_converts_to_chinese_and_back():
    from policydsl.formatter import format_source
    for path in sorted(Path("policies").rglob("*.policy")):
        text = path.read_text(encoding="utf-8")
        chinese = format_source(text, str(path), keywords="zh")
        assert parse_module(chinese, str(path)) == parse_module(text, str(path)), path
        assert format_source(chinese, str(path), keywords="en") == format_source(text, str(path), keywords="en"), path
