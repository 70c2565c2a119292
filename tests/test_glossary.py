"""Names in both languages, documents a citizen can look up, recourse: the glossary (术语), `document` (文件) and
`recourse` (救济) blocks, the header's English title and languages, bilingual notes — parsed in both keyword
surfaces, checked (every error at file:line:col), merged through imports and `extends`, answered by `naming`."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from policydsl import api, ast, naming
from policydsl.formatter import format_module, format_source
from policydsl.syntax import SyntaxFailure, parse_module
from policydsl.types import Duration

STAR_RATING = '''\
policy 晋源区书记星级 "晋源区村(社区)党组织书记星级化管理" en "Jinyuan party-secretary star rating"
  subject 书记
  source 晋源星级 "一、" en "section 1"
  assumed "生效日期为本文件的假定" en "the effective date is this file's assumption"
  languages zh en

document 晋源星级 "太原市晋源区:村(社区)党组织书记星级化管理办法" {
  en "Jinyuan District, Taiyuan: star-rating management of village (community) party secretaries"
  issuer "中共太原市晋源区委组织部" en "Organisation Department of the CPC Jinyuan District Committee"
  date 2021-03-15
  published "人民网-中国共产党新闻网"
  number "晋源组发〔2021〕5号"
  url "http://example.org/jinyuan"
  assumed "文号为本文件的假定" en "the document number is this file's assumption"
}

record 书记 key 编号 {
  编号: text
  年龄: int
  荣誉数: int
  考核等次: enum 考核等次 { 优秀, 称职, 不称职 }
}

fact 星级 = if 考核等次 == 优秀 then 荣誉数 + 1 else 荣誉数
  source 晋源星级 "三、(二)" en "section 3 (2)"
outcome 星级变化 = 星级 - 2
outcome 退出情形 = if 考核等次 == 不称职 then "末位淘汰" else "无"
  assumed "来源未说明" en "the sources do not say"
eligibility 推荐资格 {
  年龄: 年龄 <= 55
}

glossary {
  晋源区书记星级: en "Jinyuan party-secretary star rating"
  编号: en "number"
  年龄: en "age" unit "岁" "year|years"
  荣誉数: en "honours received" unit "项" "honour|honours" actionable
  考核等次: en "annual assessment"
  考核等次.优秀: en "excellent"
  考核等次.称职: en "competent"
  考核等次.不称职: en "incompetent"
  星级: en "star rating" unit "星" "star|stars" better higher
  星级变化: zh "星级增减" en "change of stars" unit "星" "star|stars" better higher serious
  退出情形: en "reason for leaving" serious
  推荐资格: en "eligible for recommendation"
  推荐资格.年龄: en "age limit"
}

recourse {
  office "中共晋源区委组织部" en "Organisation Department, CPC Jinyuan District Committee"
  review "向区委组织部书面申请复核" en "apply in writing to the Organisation Department for a review" within 30 天
  appeal "对复核结果不服的,可向区纪委监委申诉" en "appeal to the district discipline commission" within 15 天
  contact "区委组织部组织科 0351-0000000" en "Organisation Section, 0351-0000000"
  assumed "来源未给出复核、申诉途径和期限;此处为本文件的假定" en "the sources give no review route; assumed here"
}
'''


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _check(tmp_path: Path, text: str, name: str = "p.policy"):
    path = _write(tmp_path, name, text)
    policy, found, loader = api.check_policy(path)
    return policy, found, path


def _errors(found) -> list[str]:
    found = sorted(found, key=lambda d: (d.span.line, d.span.col))
    return [f"{d.span.line}:{d.span.col}: {d.message}" for d in found if d.severity == "error"]


@pytest.fixture
def star(tmp_path):
    policy, found, _ = _check(tmp_path, STAR_RATING)
    assert not _errors(found), _errors(found)
    return policy


# ------------------------------------------------------------------------------------------------ parsing

def test_every_construct_parses_into_the_ast():
    module = parse_module(STAR_RATING)
    header = module.decls[0]
    assert header.title_en == "Jinyuan party-secretary star rating"
    assert header.languages == ("zh", "en")
    assert header.citation() == ast.Citation("source", "一、", document="晋源星级", en="section 1")
    assert header.assumption().en == "the effective date is this file's assumption"
    doc = next(d for d in module.decls if isinstance(d, ast.DocumentDecl))
    assert (doc.issuer_en, doc.date.isoformat(), doc.number) == (
        "Organisation Department of the CPC Jinyuan District Committee", "2021-03-15", "晋源组发〔2021〕5号")
    assert doc.en.startswith("Jinyuan District") and doc.assumed.en == "the document number is this file's assumption"
    glossary = next(d for d in module.decls if isinstance(d, ast.GlossaryDecl))
    by_target = {e.target: e for e in glossary.entries}
    assert by_target["年龄"].unit_zh == "岁" and by_target["年龄"].unit_en == "year|years"
    assert by_target["荣誉数"].actionable and not by_target["年龄"].actionable
    assert by_target["星级变化"].better == ast.BetterClause("higher") and by_target["星级变化"].serious
    assert by_target["考核等次.优秀"].owner == "考核等次" and by_target["考核等次.优秀"].member == "优秀"
    recourse = next(d for d in module.decls if isinstance(d, ast.RecourseDecl))
    assert recourse.review.within.value == (30, "day") and recourse.appeal.within.value == (15, "day")


def test_the_chinese_keywords_mean_the_same():
    chinese = format_source(STAR_RATING, keywords="zh")
    for word in ("英文", "语言 中文 英文", "文件 晋源星级", "发文机关", "日期 2021-03-15", "刊载", "文号", "网址",
                 "术语 {", "单位 \"岁\"", "可改变", "有利 较高", "严重", "救济 {", "决定机关", "复核", "申诉",
                 "期限 30 天", "联系方式", "依据 晋源星级 \"三、(二)\" 英文"):
        assert word in chinese, word
    assert "within" not in chinese and "分组" not in chinese  # a recourse deadline is 期限, not a call's 分组
    assert parse_module(chinese) == parse_module(STAR_RATING)
    assert format_source(chinese, keywords="en") == format_source(STAR_RATING, keywords="en")


def test_better_takes_a_direction_a_yes_no_or_a_label_in_both_surfaces():
    text = "glossary {\n  a: better lower\n  b: 有利 否\n  c: better 无\n  d: better \"90 分以上\"\n}\n"
    entries = parse_module(text).decls[0].entries
    assert [(e.better.direction, e.better.value) for e in entries] == [
        ("lower", None), (None, False), (None, "无"), (None, "90 分以上")]


def test_a_clause_twice_in_an_entry_is_an_error_at_the_second():
    with pytest.raises(SyntaxFailure) as caught:
        parse_module('glossary {\n  年龄: en "age" en "years of age"\n}\n', "g.policy")
    [d] = caught.value.diagnostics
    assert (str(d.span), d.message) == ("g.policy:2:16", "'en' is written twice in the glossary entry for '年龄'")


def test_an_en_after_issuer_is_the_issuers_and_any_other_the_titles():
    doc = parse_module('document d "标题" {\n  issuer "机关"\n  en "Title"\n}\n').decls[0]
    assert (doc.issuer_en, doc.en) == ("Title", None)
    doc = parse_module('document d "标题" {\n  en "Title"\n  issuer "机关" en "Office"\n}\n').decls[0]
    assert (doc.issuer_en, doc.en) == ("Office", "Title")


# ------------------------------------------------------------------------------------------------ formatting

def test_the_canonical_form_round_trips_and_is_idempotent():
    module = parse_module(STAR_RATING)
    text = format_module(module)
    assert parse_module(text) == module
    assert format_source(text) == text
    assert format_source(STAR_RATING) == STAR_RATING  # the example above is written in canonical form


def test_clauses_take_the_canonical_order_and_comments_stay_with_them():
    text = ('glossary {\n  年龄: actionable unit "岁" en "age"  # 周岁\n}\n'
            'recourse {\n  contact "电话"\n  # 三十日内\n  review "复核" within 30 天\n}\n')
    assert format_source(text) == ('glossary {\n  年龄: en "age" unit "岁" actionable  # 周岁\n}\n'
                                   'recourse {\n  # 三十日内\n  review "复核" within 30 天\n  contact "电话"\n}\n')


# ------------------------------------------------------------------------------------------------ naming

def test_labels_units_and_titles_in_both_languages(star):
    assert naming.label(star, "年龄", "en") == "age" and naming.label(star, "年龄", "zh") == "年龄"
    assert naming.label(star, "星级变化", "zh") == "星级增减"
    assert naming.label(star, "不存在", "en") == "不存在"  # the fallback: the name itself
    assert naming.member_label(star, "考核等次", "优秀", "en") == "excellent"
    assert naming.member_label(star, "推荐资格", "年龄", "en") == "age limit"
    assert naming.has_label(star, "考核等次", "en", member="不称职")
    assert not naming.has_label(star, "退出情形", "en", member="无")
    assert naming.title(star, "en") == "Jinyuan party-secretary star rating"
    assert naming.title(star, "zh") == "晋源区村(社区)党组织书记星级化管理"
    assert naming.unit(star, "年龄", 1, "en") == "year" and naming.unit(star, "年龄", 36, "en") == "years"
    assert naming.unit(star, "星级", Decimal("1"), "en") == "star" and naming.unit(star, "星级", 0, "en") == "stars"
    assert naming.unit(star, "荣誉数", 2, "zh") == "项"
    assert naming.unit(star, "编号", 2, "zh") == ""


def test_a_label_written_for_an_enum_answers_for_the_field_holding_it(tmp_path):
    text = STAR_RATING.replace("考核等次: enum 考核等次 { 优秀, 称职, 不称职 }", "年度考核: 考核等次") \
        .replace("考核等次 ==", "年度考核 ==").replace('  考核等次: en "annual assessment"\n', "")
    text = "enum 考核等次 { 优秀, 称职, 不称职 }\n" + text
    policy, found, _ = _check(tmp_path, text)
    assert not _errors(found)
    assert naming.member_label(policy, "年度考核", "优秀", "en") == "excellent"
    assert naming.member_label(policy, "考核等次", "称职", "en") == "competent"


def test_what_the_person_can_change_and_which_way_is_better(star):
    assert naming.actionable(star, "荣誉数") and not naming.actionable(star, "年龄")
    assert naming.favourable(star, "星级") == naming.Better("higher")
    assert naming.favourable(star, "年龄") is None
    assert naming.is_serious(star, "星级变化", -1)  # a deduction of a star
    assert not naming.is_serious(star, "星级变化", 0) and not naming.is_serious(star, "星级变化", 2)
    assert naming.is_serious(star, "退出情形", "末位淘汰")  # serious, no favourable value said: any value
    assert not naming.is_serious(star, "星级", -1)  # not marked serious


def test_a_favourable_label_makes_only_the_other_values_serious(tmp_path):
    text = STAR_RATING.replace('退出情形: en "reason for leaving" serious',
                               '退出情形: en "reason for leaving" serious') \
        .replace('outcome 退出情形 = if 考核等次 == 不称职 then "末位淘汰" else "无"',
                 'outcome 退出情形: enum 退出 { 无, 末位淘汰 } = if 考核等次 == 不称职 then 末位淘汰 else 无') \
        .replace('退出情形: en "reason for leaving" serious', '退出情形: en "reason for leaving" better 无 serious')
    policy, found, _ = _check(tmp_path, text)
    assert not _errors(found), _errors(found)
    assert naming.favourable(policy, "退出情形") == naming.Better(None, "无")
    assert naming.is_serious(policy, "退出情形", "末位淘汰") and not naming.is_serious(policy, "退出情形", "无")


def test_citations_a_citizen_can_look_up(star):
    source = star.nodes["星级"].notes.citations[0]
    assert naming.cite(star, source, "zh") == "《太原市晋源区:村(社区)党组织书记星级化管理办法》三、(二)"
    assert naming.cite(star, source, "en") == (
        "“Jinyuan District, Taiyuan: star-rating management of village (community) party secretaries”, section 3 (2)")
    free = ast.Citation("source", "seed 002: 自由文本")
    assert naming.cite(star, free, "zh") == naming.cite(star, free, "en") == "seed 002: 自由文本"
    assumed = star.nodes["退出情形"].notes.assumed
    assert naming.note(assumed, "en") == "the sources do not say" and naming.note(assumed, "zh") == "来源未说明"
    assert star.source == "《太原市晋源区:村(社区)党组织书记星级化管理办法》一、"
    assert naming.cite(star, star.source_citation, "en").endswith("”, section 1")
    assert naming.policy_source(star, "zh") == "《太原市晋源区:村(社区)党组织书记星级化管理办法》一、"
    [doc] = naming.documents(star)
    assert (doc.name, doc.issuer, doc.date.isoformat(), doc.url) == (
        "晋源星级", "中共太原市晋源区委组织部", "2021-03-15", "http://example.org/jinyuan")


def test_recourse_and_the_assumptions_in_both_languages(star):
    r = naming.recourse(star)
    assert r.office == "中共晋源区委组织部" and r.office_en.startswith("Organisation Department")
    assert (r.review.within, r.appeal.within) == (Duration(days=30), Duration(days=15))
    assert r.contact_en == "Organisation Section, 0351-0000000" and r.assumed.en.startswith("the sources give")
    by_name = {a.name: a for a in star.assumptions}
    assert by_name["recourse"].reason_en == "the sources give no review route; assumed here"
    assert by_name["document 晋源星级"].reason == "文号为本文件的假定"
    assert by_name["policy 晋源区书记星级"].reason_en == "the effective date is this file's assumption"


def test_a_policy_that_says_nothing_gets_the_fallbacks(tmp_path):
    policy, found, _ = _check(tmp_path, "policy 简 \"简\"\nrecord 人 { 年龄: int }\noutcome 合格 = 年龄 <= 35\n")
    assert not _errors(found)
    assert naming.recourse(policy) is None and naming.documents(policy) == ()
    assert naming.unit(policy, "年龄", 30, "zh") == "岁"  # the guess from the end of the name
    assert policy.languages == ("zh",) and not [d for d in found if "English" in d.message]


# ------------------------------------------------------------------------------------------------ merging

BASE = '''\
policy 基础 "基础政策" en "Base policy"
  languages zh en

document 文一 "文件一" {
  en "Document one"
}

record 人 key 编号 {
  编号: text
  年龄: int
}

outcome 合格 = 年龄 <= 35 source 文一 "第一条" en "article 1"

glossary {
  基础: en "Base policy"
  编号: en "number"
  年龄: en "age" unit "岁" "year|years" actionable
  合格: en "eligible" better true serious
}

recourse {
  office "基础机关" en "Base office"
  review "向基础机关申请复核" en "ask the base office" within 30 天
  contact "电话 1"
}
'''

VARIANT = '''\
policy 变体 "变体政策" en "Variant policy"

extends "base.policy"

override fact 合格 = 年龄 <= 40 source 文一 "第二条" en "article 2"

glossary {
  变体: en "Variant policy"
  年龄: en "age in years"
}

recourse {
  office "变体机关"
  appeal "向变体纪委申诉" within 15 天
}
'''


def test_a_variant_replaces_the_bases_entries_clause_by_clause(tmp_path):
    _write(tmp_path, "base.policy", BASE)
    policy, found, _ = _check(tmp_path, VARIANT, "variant.policy")
    assert not _errors(found), _errors(found)
    assert naming.label(policy, "年龄", "en") == "age in years"  # the variant's en …
    assert naming.unit(policy, "年龄", 2, "en") == "years" and naming.actionable(policy, "年龄")  # … the base's rest
    assert naming.favourable(policy, "合格") == naming.Better(None, True)
    assert policy.languages == ("zh", "en") and naming.title(policy, "en") == "Variant policy"
    r = naming.recourse(policy)
    assert (r.office, r.office_en) == ("变体机关", "Base office")  # the variant wrote no English office
    assert r.review.text == "向基础机关申请复核" and r.appeal.within == Duration(days=15)
    assert r.contact == "电话 1"
    cited = policy.nodes["合格"].notes.citations[0]
    assert naming.cite(policy, cited, "zh") == "《文件一》第二条"  # a base's document cited by the variant


def test_an_import_brings_its_glossary_and_documents(tmp_path):
    _write(tmp_path, "shared.policy", 'document 共用 "共用文件" { }\nglossary {\n  年龄: en "age"\n}\n'
                                      "record 人 { 年龄: int }\n")
    text = 'policy 用 "用"\nimport "shared.policy"\noutcome 合格 = 年龄 <= 35 source 共用 "第三条"\n'
    policy, found, _ = _check(tmp_path, text)
    assert not _errors(found), _errors(found)
    assert naming.label(policy, "年龄", "en") == "age"
    assert naming.cite(policy, policy.nodes["合格"].notes.citations[0], "zh") == "《共用文件》第三条"


# ------------------------------------------------------------------------------------------------ errors

ERRORS = '''\
policy 错 "错"
record 人 key 编号 {
  编号: text
  年龄: int
  等次: enum { 优秀, 称职 }
  处分: list of 处分记录 by 人员
}
record 处分记录 { 人员: text, 日期: date }
fact 星级 = if 年龄 > 35 then 1 else 2 source 文二 "第一条"
outcome 结论 = 星级 > 1
document 文一 "文件一" { }
document 文一 "又一个" { }
glossary {
  年令: en "age"
  年龄: en "age"
  年龄: en "age"
  星级: actionable
  结论: better higher
  星级: better 优秀
  等次.良好: en "good"
  等次: better 良好
  编号: serious
  处分记录.日其: en "date"
  无名.标签: en "x"
  结论: better 是
}
recourse {
  office "甲"
}
recourse {
  office "乙"
}
'''


def test_every_error_has_its_place_and_a_hint(tmp_path):
    policy, found, path = _check(tmp_path, ERRORS)
    assert policy is None
    got = _errors(found)
    assert got == [
        "9:36: source cites '文二', which is not a declared document",
        "12:1: document '文一' is declared twice in this file",
        "14:3: the glossary labels '年令', which the policy does not declare",
        "16:3: '年龄' has two glossary entries in this file",
        "17:3: '星级' is a fact, not an input field: it cannot be actionable",
        "18:7: '结论' is bool: 'better higher' does not apply",
        "19:3: '星级' has two glossary entries in this file",
        "20:3: the glossary labels '等次.良好', but '等次' has no member of that name",
        "21:7: '良好' is not a label of '等次'",
        "22:3: '编号' is a field: only an outcome (a fact, table or eligibility) can be serious",
        "23:3: the glossary labels '处分记录.日其', but '处分记录' has no member of that name",
        "24:3: the glossary labels '无名.标签', but '无名' is not declared",
        "25:3: '结论' has two glossary entries in this file",
        "30:1: a file has only one 'recourse' block",
    ], got
    hints = {f"{d.span.line}:{d.span.col}": d.hint for d in found}
    assert hints["14:3"] == "did you mean '年龄'?"
    assert hints["23:3"] == "did you mean '日期'?"
    assert hints["9:36"] == "did you mean '文一'?"
    assert all(d.span.file == path for d in found)


def test_better_of_the_wrong_type_for_numbers_and_unordered_enums(tmp_path):
    text = ('policy 错 "错"\nrecord 人 { 年龄: int, 等次: enum { 优秀, 称职 } }\noutcome 星级 = 年龄 + 1\n'
            'glossary {\n  星级: better true\n  等次: better higher\n}\n')
    _, found, _ = _check(tmp_path, text)
    assert _errors(found) == ["5:7: '星级' is int: 'better True' is not a direction",
                              "6:7: '等次' is 人.等次: 'better higher' does not apply"]
    assert [d.hint for d in found if d.severity == "error"][1] == (
        "'人.等次' is not ordered: name the favourable label, e.g. better 优秀")


def test_misspelt_clauses_are_named_with_did_you_mean(tmp_path):
    text = ('policy 错 "错"\nrecord 人 { 年龄: int }\nrecourse {\n  apeal "申诉"\n}\n'
            'document d "t" {\n  isuer "x"\n}\nglossary {\n  年龄: en "age" 单未 "岁"\n}\n')
    _, found, path = _check(tmp_path, text)
    assert [(str(d.span), d.message, d.hint) for d in found] == [
        (f"{path}:4:3", "unknown clause 'apeal' in a recourse block", "did you mean 'appeal'?"),
        (f"{path}:7:3", "unknown clause 'isuer' in a document", "did you mean 'issuer'?"),
        (f"{path}:10:16", "unknown clause '单未' in a glossary entry", "did you mean '单位'?"),
    ]


# ------------------------------------------------------------------------------------------------ English gaps

def test_english_gaps_are_warnings_one_per_name_with_a_summary(tmp_path):
    text = STAR_RATING.replace('  编号: en "number"\n', "").replace('  考核等次.称职: en "competent"\n', "") \
        .replace(' en "section 3 (2)"', "").replace(' en "the sources do not say"', "")
    policy, found, path = _check(tmp_path, text)
    assert policy is not None  # warnings never make a policy fail
    gaps = [(d.span.line, d.message) for d in found if "English" in d.message]
    assert gaps == [
        (18, "field '编号' has no English label"),
        (21, "label '考核等次.称职' has no English label"),
        (25, "this source has no English text"),
        (28, "this assumption has no English text"),
        (1, "the policy is explained in English but 2 name(s) and 2 note(s) have no English text"),  # the summary
    ], gaps
    assert all(d.severity == "warning" for d in found if "English" in d.message)
    assert [d for d in found if d.span.line == 21 and "English" in d.message][0].span.col == 25  # the label itself


def test_no_english_gaps_are_reported_for_a_policy_in_chinese_only(tmp_path):
    text = STAR_RATING.replace("  languages zh en\n", "").replace('  编号: en "number"\n', "")
    _, found, _ = _check(tmp_path, text)
    assert not [d for d in found if "English" in d.message]


def test_the_shipped_example_is_free_of_english_gaps(star, tmp_path):
    _, found, _ = _check(tmp_path, STAR_RATING)
    assert not [d for d in found if "English" in d.message]


def test_the_editor_shows_a_names_labels_and_a_documents_title(tmp_path):
    from policydsl.lsp import check_text, hover_text
    checked = check_text(str(tmp_path / "p.policy"), STAR_RATING)
    assert hover_text(checked, "荣誉数").endswith("荣誉数 / honours received · unit 项 / honours · actionable")
    assert "星级增减 / change of stars" in hover_text(checked, "星级变化")
    assert hover_text(checked, "晋源星级").startswith("**document** `晋源星级`: 《太原市晋源区:")
