"""The explainer's shortcuts change nothing a reader sees.

* Sentences memoised by the values they read (explain/memo.py) give exactly the pages made without the memo.
* The why-not search skips what provably cannot move (`_can_change`) and finds exactly the suggestions of a
  search that tries everything.

The oracle is the explainer itself with the shortcut off: every shipped data set that is explained record by record,
and a few thousand generated Jinyuan secretaries, in both languages, as text and HTML, must come out byte for byte
the same. A key that forgot a value a sentence shows would give one record another record's sentence, and fail.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policydsl import api, explain

ROOT = Path(__file__).resolve().parents[1]


def _module(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


RUNS = _module("policydsl_run_all", ROOT / "data" / "run_all.py").RUNS
RECORD_BY_RECORD = [run for run in RUNS if not api.load_policy(str(ROOT / "policies" / f"{run[0]}.policy")).across_records]


class _SearchingEverything(explain.Explainer):
    """The explainer without the pruning of the why-not search: everything may change."""

    def _can_change(self, x, v) -> bool:
        return True

    def _node_can_change(self, name, v) -> bool:
        return True


def _pages(policy, records, as_of, lang: str, memo: bool, why_not: bool = True,
           explainer_class=explain.Explainer) -> list[tuple[str, str]]:
    explainer = explainer_class(policy, lang=lang, why_not=why_not, memo=memo)
    out = []
    for record in records:
        x = explainer.explain_values(record.values, record.id, as_of)
        out.append((explain.render(x, "text"), explain.render(x, "html")))
    return out


@pytest.mark.parametrize("run", RECORD_BY_RECORD, ids=[run[0] for run in RECORD_BY_RECORD])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_shipped_data_explained_the_same_with_and_without_the_memo(run, lang):
    name, records_file, related, as_of = run
    policy = api.load_policy(str(ROOT / "policies" / f"{name}.policy"))
    loaded = explain.load_inputs(policy, ROOT / records_file, {k: ROOT / v for k, v in related.items()})
    records = loaded.records[:120]
    assert records, f"{records_file} has no records"
    assert _pages(policy, records, as_of, lang, memo=True) == _pages(policy, records, as_of, lang, memo=False)


@pytest.mark.parametrize("run", RUNS, ids=[run[0] for run in RUNS])
def test_the_pruned_search_suggests_what_searching_everything_does(run):
    name, records_file, related, as_of = run
    policy = api.load_policy(str(ROOT / "policies" / f"{name}.policy"))
    loaded = explain.load_inputs(policy, ROOT / records_file, {k: ROOT / v for k, v in related.items()})
    records = loaded.records[:80]

    def suggestions(explainer_class):
        explainer = explainer_class(policy, lang="zh", memo=False)
        explainer.among([(r.id, r.values) for r in loaded.records], as_of)
        pages = [explainer.explain_values(r.values, r.id, as_of) for r in records]
        return [(x.suggestions, [o.suggestions for o in x.outcomes]) for x in pages]
    assert suggestions(explain.Explainer) == suggestions(_SearchingEverything)


def test_generated_secretaries_explained_the_same_and_the_memo_is_used(tmp_path):
    generate = _module("policydsl_data_generate", ROOT / "data" / "generate.py")
    generate.jinyuan(tmp_path, 7, 20)
    policy = api.load_policy(str(ROOT / "policies" / "jinyuan" / "star_rating.policy"))
    records = explain.load_inputs(policy, tmp_path / "jinyuan" / "secretaries.csv").records[:1500]
    assert len(records) == 1500
    with_memo = explain.Explainer(policy, why_not=False)
    memoised = [explain.render(with_memo.explain_values(r.values, r.id), "text") for r in records]
    plain = [explain.render(x, "text") for x in
             (explain.Explainer(policy, why_not=False, memo=False).explain_values(r.values, r.id) for r in records)]
    assert memoised == plain
    # the records share most of their sentences: far fewer were made than looked up
    memo = with_memo._memo.__self__
    assert memo.entries == memo.made == sum(len(cache) for cache in memo._caches.values())
    assert memo.lookups >= 2 * len(records) * len(policy.outcomes)  # a head and a block per outcome at least
    assert memo.made < memo.lookups / 5
    # and with suggestions: the pruned search and the memo against searching everything without the memo
    fast = explain.Explainer(policy)
    slow = _SearchingEverything(policy, memo=False)
    for r in records[:300]:
        assert explain.render(fast.explain_values(r.values, r.id), "text") == \
            explain.render(slow.explain_values(r.values, r.id), "text")


POLICY = """\
policy 模板
  subject 人员
  effective 2024-01-01

record 人员 key 编号 {
  编号: text
  姓名: text
  分数: int
}

outcome 合格: bool = 分数 >= 60
  explain zh "{{ 姓名 }}的分数为 {{ 分数 }}"
"""


def test_a_template_naming_a_value_the_rule_does_not_read_keys_the_memo(tmp_path):
    path = tmp_path / "p.policy"
    path.write_text(POLICY, encoding="utf-8")
    policy = api.load_policy(str(path))
    explainer = explain.Explainer(policy, why_not=False)
    first = explainer.explain_values({"编号": "1", "姓名": "甲", "分数": 70}, "1")
    second = explainer.explain_values({"编号": "2", "姓名": "乙", "分数": 70}, "2")
    assert first.outcomes[0].headline == "甲的分数为 70"
    assert second.outcomes[0].headline == "乙的分数为 70"


@settings(max_examples=300, deadline=None)
@given(st.decimals(min_value=-10**12, max_value=10**12, places=6, allow_nan=False, allow_infinity=False),
       st.sampled_from(["zh", "en"]))
def test_figures_formatted_from_parsed_patterns_read_as_babel_formats_them(value, lang):
    """The formatter parses Babel's locale and patterns once; the text is what Babel's own calls give."""
    from babel.numbers import format_currency, format_decimal, format_percent

    from policydsl.explain import formatting
    from policydsl.naming import LOCALES
    locale = LOCALES[lang]
    for memoised in (formatting._money, formatting._percent, formatting._number):
        memoised.cache_clear()
    money = format_decimal(value, "#,##0.00", locale=locale) + " 元" if lang == "zh" else \
        format_currency(value, "CNY", "¤¤ #,##0.00", locale=locale, currency_digits=False)
    assert formatting._money(value, lang) == money
    assert formatting._percent(value, lang) == format_percent(value, "#,##0.####%", locale=locale)
    assert formatting._number(value, lang) == format_decimal(value, "#,##0.####", locale=locale)


def test_a_count_is_not_read_as_the_equal_decimal_seen_before():
    from decimal import Decimal

    from policydsl.explain import formatting
    from policydsl.types import DECIMAL, INT
    assert formatting.format_value(Decimal("1000"), DECIMAL, "zh") == "1,000"
    assert formatting.format_value(1000, INT, "zh") == "1000"  # a year or a count: not grouped below 10,000


_SENTENCE_CHARS = st.sampled_from(list("张三李四JY0129 ,:;?!()（）:,、。a-.%《》") + ["\u3000", "\t"])


@given(st.one_of(st.none(), st.text(_SENTENCE_CHARS, max_size=6)), st.text(_SENTENCE_CHARS, min_size=1, max_size=8),
       st.text(_SENTENCE_CHARS, max_size=12))
@settings(max_examples=3000, deadline=None)
def test_the_conclusion_punctuated_on_a_stand_in_reads_as_punctuated_whole(label, record_id, rest):
    """The conclusion names the person: it is punctuated with the name and id replaced by stand-ins and the names
    put back (`fullwidth_led_by`); that must give exactly what punctuating the whole sentence gives."""
    from policydsl.explain.formatting import fullwidth, fullwidth_led_by
    whole = f"{label}({record_id}){rest}" if label else record_id + rest
    assert fullwidth_led_by(label, record_id, rest) == fullwidth(whole)


def test_the_conclusion_names_the_person_in_full_width_brackets():
    from policydsl.explain.formatting import fullwidth_led_by
    assert fullwidth_led_by("张三", "JY001", ":星级:5 星。") == "张三（JY001）：星级：5 星。"
    assert fullwidth_led_by(None, "JY001", ":星级:5 星。") == "JY001：星级：5 星。"
