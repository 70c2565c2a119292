"""Differential tests of the two engines on generated policies (issue 9, "How it is shown", item 3).

A hypothesis strategy writes well-typed policies as policy *text* — a record schema with int / decimal / money /
percent / bool / date / duration / enum / text fields, a related list (`list of Item by owner`), an external CSV
list, plain and dated params, facts and outcomes over arithmetic, comparisons, logic, `if`, `match`, membership, the
built-in functions and the date helpers, tables of both hit policies, eligibility blocks, aggregates and summaries —
together with records that sit on the policy's boundaries (every threshold ±1, zero, negatives, half-fen ties, large
values, leap days and birthdays around the evaluation date). Every record is evaluated by the row evaluator (the
reference semantics) and by the DuckDB engine in one `evaluate_records` call; for every record both give the same
error text, or the same value of every field and node. `test_files_and_summaries_agree` runs the same records as
files through `run_batch` on both engines (results file, refused records, errors, summaries); Spark runs a small
sample of the strategy (marked `spark`; `POLICYDSL_SPARK_EXAMPLES=N` for more).

A disagreement found once is kept below as a `test_regression_…` test with the smallest policy and record showing
it; the ones not fixed yet are `xfail(strict=True)` and the generator steers around them (see `KNOWN`), so the
suite stays green while they are visible.

Runs are derandomised (the same examples every run; about 50 s of CPU on two cores, Spark left out).
`POLICYDSL_FUZZ=N` explores N fresh random examples per test instead.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, reject, settings
from hypothesis import strategies as st

from policydsl import api
from policydsl.diagnostics import PolicyError
from policydsl.engines.base import run_batch
from policydsl.engines.row import Engine
from policydsl.engines.sql.runner import evaluate_records
from policydsl.types import INPUT_PLACES, Duration

FUZZ = int(os.environ.get("POLICYDSL_FUZZ", "0"))
SPARK_EXAMPLES = int(os.environ.get("POLICYDSL_SPARK_EXAMPLES", "0"))


def _settings(examples: int):
    return settings(max_examples=FUZZ or examples, deadline=None, derandomize=not FUZZ, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


# ================================================================================================ the schema
#
# Fixed names keep the generator simple; several are Chinese (quoted identifiers in SQL). Enum labels are unique
# across enums, so a bare label always names one enum.

E1 = ("甲", "乙", "丙")            # enum 类别 (unordered)
E2 = ("低", "中", "高")            # enum 档 (ordered)
ENUMS = {"类别": E1, "档": E2}

FIELDS = {"int": ["n", "人数"], "decimal": ["x"], "money": ["m", "工资"], "percent": ["p"], "bool": ["ok"],
          "date": ["d1", "d2"], "text": ["s", "code"], "类别": ["e"], "档": ["g"], "duration": ["任期"]}
ITEM_FIELDS = {"int": ["q"], "money": ["amt"], "percent": ["rate"], "decimal": ["w"], "date": ["day"],
               "bool": ["flag"], "类别": ["kind"], "text": ["iid"]}
DUTY_FIELDS = {"text": ["dcode", "unit"], "money": ["fee"], "int": ["level"], "percent": ["share"], "bool": ["dok"]}
PARAMS = {"int": "门槛", "money": "基数", "percent": "比例", "decimal": "系数", "date": "截止", "duration": "试用期"}

SCHEMA = """\
enum 类别 { 甲, 乙, 丙 }
enum 档 ordered { 低, 中, 高 }

record Item key iid { iid: text, owner: text, q: int, amt: money, rate: percent, w: decimal, day: date, flag: bool, kind: 类别 }
record R key k {
  k: text
  n: int
  人数: int
  x: decimal
  m: money
  工资: money
  p: percent
  ok: bool
  d1: date
  d2: date
  s: text
  code: text
  e: 类别
  g: 档
  任期: duration
  items: list of Item by owner
}

list Duty from "duty.csv" key dcode { dcode: text, unit: text, fee: money, level: int, share: percent, dok: bool }
"""

NUMERIC = ("int", "decimal", "money", "percent")
SCALARS = ("int", "decimal", "money", "percent", "bool", "date", "text", "类别", "档", "duration")
DURATION_UNITS = ("年", "个月", "月", "周", "天", "日", "季度")
ROUND_MODES = ("half_up", "half_even", "down", "up", "floor", "ceiling")
EFFECTIVE = date(2024, 6, 30)
PARAM_START = date(2020, 1, 1)   # every dated param has a value from here on; as-of dates are never earlier

#: Disagreements found, which the generator steers around (each has an xfail regression test below that starts
#: passing when it is fixed; set its entry to False to let the generator find it again).
KNOWN = {
    # text() of a money amount that is not on the fen: the row evaluator formats it half-even, not half up.
    "text_of_unrounded_money": False,
    # an aggregate over the record's relation inside another aggregate's element expression or `where`.
    "nested_relation_aggregate": False,
    # an aggregate over the record's relation whose element expression reads none of the element's fields
    # (`sum(items, n)`, `any(items, ok)`): DuckDB takes it for an aggregate of the outer query.
    "element_without_element_fields": False,
    # any/all stop at the first element that decides them on the row evaluator; DuckDB reports an error of any
    # element (division by zero, a missing key) even after the deciding one.
    "any_all_error_after_the_deciding_element": True,
    # same_year / same_quarter / same_month compared with == or != (`ok == same_year(a, b)`): unparenthesised SQL.
    "same_period_compared": False,
    # the checker: a match in an else branch or a match arm takes the expected type of that position as its own
    # (`if c then m else m * (match e { 甲 -> 50%, … })` is refused); such rare examples are rejected, not run.
    "match_takes_the_expected_type": False,
    # DuckDB's results hold a duration as a dict {"months": …, "days": …}, not as types.Duration: compared as one.
    "duration_values_as_dicts": False,
    # a results file with no evaluated record: the row engine writes an empty line, DuckDB the header row.
    "empty_results_file": False,
    # DuckDB held decimals in DECIMAL(18, s): a product of two decimals from 10^6 on, a quotient from 10^8 on
    # stopped the whole run. When True, an example whose records reach a SQL overflow is rejected (not run).
    "narrow_decimal_overflow": False,
}

# Left out because the SQL engine refuses them with EngineUnavailable / Unsupported: min / max / distinct over an
# external list, a whole row of an external list as a value (only `Duty[key].field`), aggregates over a record's
# relation inside a summary, decimal literals with more than 10 places. Left out because no engine can run them
# (see the regressions): round(x, places) with negative places, abs() of a date or a duration.


# ================================================================================================ the generator

@dataclass
class Case:
    """One generated policy, its CSV list, the evaluation date and the records to run."""

    text: str
    duty_csv: str
    as_of: date
    records: list[tuple[str, dict]]
    features: frozenset = frozenset()
    summaries: bool = False


@dataclass
class Pools:
    """Literals the policy uses, per type: the records' values are drawn around them."""

    values: dict[str, set] = field(default_factory=lambda: {t: set() for t in SCALARS})

    def add(self, t: str, v) -> None:
        self.values.setdefault(t, set()).add(v)


class Gen:
    """Writes one policy: typed expressions over the names in scope, as text (every compound in parentheses)."""

    def __init__(self, draw, features: frozenset):
        self.draw = draw
        self.features = features
        self.pools = Pools()
        self.top: dict[str, list[str]] = {t: list(v) for t, v in FIELDS.items()}
        for t, name in PARAMS.items():
            self.top.setdefault(t, []).append(name)
        self.element: dict[str, list[str]] | None = None  # names of the aggregate element in scope
        self.element_kind: str | None = None                # "items", "Duty" or "records"
        self.stack: list[str] = []                          # the aggregates being generated, outermost first
        self.safe = 0                                       # > 0: nothing that can fail (no division, no lookup)
        self.counter = 0

    # -------------------------------------------------------------------------------------------- choices
    def pick(self, options):
        return self.draw(st.sampled_from(options))

    def chance(self, percent: int) -> bool:
        return self.draw(st.integers(0, 99)) < percent

    def on(self, feature: str) -> bool:
        return feature in self.features

    def scalars(self) -> tuple[str, ...]:
        return SCALARS if self.on("dates") else SCALARS[:-1]

    # -------------------------------------------------------------------------------------------- literals
    def lit(self, t: str) -> str:
        d = self.draw
        if t == "int":
            v = d(st.sampled_from([0, 1, 2, 3, 5, 10, 12, 18, 60, 100, 1000]) | st.integers(-20, 200))
            self.pools.add(t, v)
            return str(v) if v >= 0 else f"({v})"
        if t == "decimal":
            v = d(st.sampled_from(["0.5", "2.5", "1.25", "0.1", "3.0", "1.0000000001", "0.0000000001", "21.4"])
                  | st.builds(lambda a, s: f"{Decimal(a).scaleb(-s):f}", st.integers(-2000, 20000), st.integers(1, 4)))
            if "." not in v:
                v += ".0"
            self.pools.add(t, Decimal(v))
            return v if not v.startswith("-") else f"({v})"
        if t == "money":
            v = d(st.sampled_from(["0.01", "0.05", "1000", "0.5", "1234.56", "3", "99.99"])
                  | st.builds(lambda a: f"{Decimal(a).scaleb(-2):f}", st.integers(-10000, 2000000)))
            if self.chance(5) and not v.startswith("-"):
                self.pools.add(t, Decimal(v) * 10000)
                return f"{v} 万元"
            self.pools.add(t, Decimal(v))
            return f"{v} 元" if not v.startswith("-") else f"({v} 元)"
        if t == "percent":
            v = d(st.sampled_from(["50", "30", "12.5", "0", "100", "33.33", "7.25"])
                  | st.builds(lambda a: f"{Decimal(a).scaleb(-2):f}", st.integers(-500, 15000)))
            self.pools.add(t, Decimal(v) / 100)
            return f"{v}%" if not v.startswith("-") else f"({v}%)"
        if t == "bool":
            return self.pick(["true", "false"])
        if t == "date":
            v = d(st.sampled_from([date(2024, 1, 1), date(2020, 2, 29), date(2024, 6, 30), date(1964, 7, 1)])
                  | st.dates(date(1950, 1, 1), date(2035, 12, 31)))
            self.pools.add(t, v)
            return v.isoformat()
        if t == "duration":
            amount, unit = d(st.integers(0, 36)), self.pick(DURATION_UNITS)
            self.pools.add(t, records_duration(amount, unit))
            return f"{amount} {unit}" if self.chance(90) else f"(-{amount} {unit})"
        if t == "text":
            v = self.pick(["a", "", "D1", "甲 乙", "x,y", "D9"])
            self.pools.add(t, v)
            return f'"{v}"'
        return self.pick(ENUMS[t])

    # -------------------------------------------------------------------------------------------- names
    def names(self, t: str) -> list[str]:
        inner = (self.element or {}).get(t, [])
        outer = self.top.get(t, [])
        if inner and (not outer or self.chance(70)):
            return inner
        return outer

    def leaf(self, t: str) -> str:
        names = self.names(t)
        if names and self.chance(75):
            return self.pick(names)
        return self.lit(t)

    # -------------------------------------------------------------------------------------------- expressions
    def expr(self, t: str, depth: int) -> str:
        if depth <= 0 or self.chance(15):
            return self.leaf(t)
        productions = [p for p in self.productions(t) if p is not None]
        return self.pick(productions)(depth - 1)

    def productions(self, t: str):
        """The ways to build a value of type t (each a function of the remaining depth)."""
        E, on = self.expr, self.on
        ps = [lambda k: self.leaf(t), lambda k: f"(if {E('bool', k)} then {E(t, k)} else {E(t, k)})"]
        if on("logic"):
            ps.append(lambda k: self.match(t, k))
        if t in NUMERIC:
            ps += self.numeric(t)
            if on("agg") and self.items_ok():
                ps.append(lambda k: self.aggregate_value(t, k))
            if on("list") and t in ("int", "money", "percent"):
                ps.append(lambda k: self.duty_value(t, k))
        if t == "int":
            ps += [lambda k: f"{self.pick(['floor', 'ceil'])}({E(self.pick(['decimal', 'percent']), k)})",
                   lambda k: f"round({E('decimal', k)}{self.round_args(0)})"]
            if on("dates"):
                ps += [lambda k: f"{self.pick(['years_between', 'months_between', 'days_between'])}"
                                 f"({E('date', k)}, {E('date', k)})"] * 3
                ps += [lambda k: f"{self.pick(['year', 'month', 'quarter'])}({E('date', k)})"]
            if on("agg") and self.items_ok():
                ps += [lambda k: self.count(k),
                       lambda k: self.over_items("distinct", self.pick(self.scalars()), k)]
            if on("list"):
                ps.append(lambda k: f"count(Duty{self.where('Duty', k)})")
        if t == "bool":
            ps += self.booleans()
        if t == "date":
            ps.append(lambda k: f"{self.pick(['min', 'max'])}({E('date', k)}, {E('date', k)})")
            ps.append(lambda k: "as_of")
            if on("agg") and self.items_ok():
                ps.append(self.divides(lambda k: self.over_items(self.pick(["min", "max"]), "date", k)))
            if on("dates"):
                ps.append(lambda k: f"({E('date', k)} {self.pick(['+', '-'])} {E('duration', k)})")
        if t == "duration":
            ps += [lambda k: f"({E('duration', k)} {self.pick(['+', '-'])} {E('duration', k)})",
                   lambda k: f"({E('duration', k)} * {E('int', k)})",
                   lambda k: f"({E('int', k)} * {E('duration', k)})",
                   lambda k: f"(-{E('duration', k)})",
                   lambda k: f"{self.pick(['min', 'max'])}({E('duration', k)}, {E('duration', k)})",
                   lambda k: f"clamp({E('duration', k)}, {E('duration', k)}, {E('duration', k)})"]
        if t == "text":
            ps.append(lambda k: f"({E('text', k)} + {E('text', k)})")
            if on("dates"):
                ps.append(lambda k: f"text({self.textable(k)})")
            if on("list"):
                ps.append(self.divides(lambda k: f"Duty[{self.duty_key(k)}].unit"))
        return ps

    def numeric(self, t: str):
        E = self.expr
        k_num = lambda: self.pick(["int", "decimal"])  # noqa: E731
        ps = [lambda k: f"(-{E(t, k)})",
              lambda k: f"abs({E(t, k)})",
              lambda k: f"{self.pick(['min', 'max'])}({self.joinable(t, k)}, {self.joinable(t, k)})",
              lambda k: f"clamp({E(t, k)}, {self.joinable(t, k)}, {self.joinable(t, k)})"]
        if t == "int":
            ps += [lambda k: f"({E('int', k)} {self.pick(['+', '-', '*'])} {E('int', k)})"]
        elif t == "decimal":
            ps += [lambda k: f"({E('decimal', k)} {self.pick(['+', '-', '*'])} {E(k_num(), k)})",
                   lambda k: f"({E(k_num(), k)} {self.pick(['+', '-', '*'])} {E('decimal', k)})",
                   self.divides(lambda k: f"({E(k_num(), k)} {self.pick(['/', '÷'])} {E(k_num(), k)})"),
                   self.divides(lambda k: f"({E('money', k)} / {E('money', k)})"),
                   self.divides(lambda k: f"({E(self.pick(['int', 'decimal', 'percent']), k)} / {E('percent', k)})"),
                   lambda k: f"({E('percent', k)} {self.pick(['*', '×'])} {E(k_num(), k)})",
                   lambda k: f"({E(k_num(), k)} * {E('percent', k)})",
                   lambda k: f"round({E(k_num(), k)}{self.round_args(self.draw(st.integers(1, 4)))})"]
        elif t == "money":
            ps += [lambda k: f"({E('money', k)} {self.pick(['+', '-'])} {E('money', k)})",
                   lambda k: f"({E('money', k)} * {E(self.pick(['int', 'decimal', 'percent']), k)})",
                   lambda k: f"({E(self.pick(['int', 'decimal', 'percent']), k)} * {E('money', k)})",
                   self.divides(lambda k: f"({E('money', k)} / {E(self.pick(['int', 'decimal', 'percent']), k)})"),
                   lambda k: f"round({E('money', k)}{self.round_args(self.pick([None, 0, 1, 2, 3]))})"]
        else:  # percent
            ps += [lambda k: f"({E('percent', k)} {self.pick(['+', '-', '*'])} {E('percent', k)})",
                   self.divides(lambda k: f"({E('percent', k)} / {E(k_num(), k)})"),
                   lambda k: f"round({E('percent', k)}{self.round_args(self.pick([0, 2, 4]))})"]
        return ps

    def divides(self, production):
        """A production that can fail on a record (None, i.e. left out, where nothing may fail)."""
        return None if self.safe else production

    def joinable(self, t: str, k: int) -> str:
        """An argument that may meet a value of type t (int and decimal join)."""
        return self.expr("int" if t == "decimal" and self.chance(30) else t, k)

    def round_args(self, places) -> str:
        if places is None:
            return ""
        mode = self.pick([None] + list(ROUND_MODES))
        return f", {places}" + (f", {mode}" if mode else "")

    def booleans(self):
        E, on = self.expr, self.on
        ops = ["==", "!=", "<", "<=", ">", ">=", "≤", "≥", "≠"]

        def compare(k):
            t = self.pick(["int", "decimal", "money", "percent", "date", "int"] + (["duration"] if on("dates") else []))
            right = self.pick(["int", "decimal"]) if t in ("int", "decimal") else t
            return f"({E(t, k)} {self.pick(ops)} {E(right, k)})"

        ps = [compare, lambda k: f"({E('text', k)} {self.pick(['==', '!='])} {E('text', k)})",
              lambda k: f"({self.compared_bool(k)} {self.pick(['==', '!='])} {self.compared_bool(k)})"]
        if on("logic"):
            ps += [lambda k: f"({E('bool', k)} {self.pick(['and', 'or'])} {E('bool', k)})",
                   lambda k: f"(not {E('bool', k)})",
                   lambda k: f"({E('类别', k)} {self.pick(['==', '!='])} {E('类别', k)})",
                   lambda k: f"({self.pick(E1)} == {E('类别', k)})",
                   lambda k: f"({E('档', k)} {self.pick(ops)} {E('档', k)})",
                   lambda k: self.membership(k)]
        if on("dates"):
            ps += [lambda k: f"{self.pick(['same_year', 'same_quarter', 'same_month'])}"
                             f"({E('date', k)}, {E('date', k)})"] * 2
        if on("agg") and self.items_ok():
            ps.append(lambda k: self.over_items(self.pick(["any", "all"]), "bool", k))
        if on("list"):
            ps += [lambda k: f"({self.duty_key(k)} {self.pick(['in', 'not in'])} Duty)",
                   lambda k: f"{self.pick(['any', 'all'])}(Duty, {self.decider(lambda: self.in_duty('bool', k))}"
                             f"{self.where('Duty', k)})",
                   self.divides(lambda k: f"Duty[{self.duty_key(k)}].dok")]
        return ps

    def compared_bool(self, k: int) -> str:
        operand = self.expr("bool", k)
        if KNOWN["same_period_compared"] and operand.startswith("same_"):
            return self.leaf("bool")
        return operand

    def membership(self, k: int) -> str:
        t = self.pick(["int", "text", "类别", "档", "decimal", "money", "date"] + (["duration"] if self.on("dates") else []))
        item_t = (lambda: self.pick(["int", "decimal"])) if t in ("int", "decimal") else (lambda: t)
        items = ", ".join(self.expr(item_t(), max(0, k - 1)) for _ in range(self.draw(st.integers(1, 3))))
        return f"({self.expr(t, k)} {self.pick(['in', 'not in'])} [{items}])"

    def match(self, t: str, k: int) -> str:
        enum = self.pick(["类别", "档"])
        labels = list(ENUMS[enum])
        arms, rest = [], labels[:]
        while rest:
            size = self.draw(st.integers(1, len(rest)))
            group, rest = rest[:size], rest[size:]
            arms.append(f"{' | '.join(group)} -> {self.expr(t, k)}")
            if rest and self.chance(30):  # leave the other labels to `else`
                arms.append(f"else -> {self.expr(t, k)}")
                break
        return f"(match {self.expr(enum, k)} {{ {', '.join(arms)} }})"

    def textable(self, k: int) -> str:
        t = self.pick(self.scalars())
        if t == "money" and KNOWN["text_of_unrounded_money"]:
            names = self.names("money")
            return self.pick(names) if names and self.chance(70) else self.lit("money")
        return self.expr(t, k)

    # -------------------------------------------------------------------------------------------- aggregates
    def items_ok(self) -> bool:
        """Whether an aggregate over the record's items may go here."""
        if "records" in self.stack:
            return False  # a summary cannot reach a record's relation on the SQL engine (listed as unsupported)
        return "items" not in self.stack or not KNOWN["nested_relation_aggregate"]

    def in_scope(self, kind: str, fields: dict, fn):
        saved = self.element, self.element_kind
        self.element, self.element_kind = fields, kind
        self.stack.append(kind)
        try:
            return fn()
        finally:
            self.stack.pop()
            self.element, self.element_kind = saved

    def in_items(self, t: str, k: int) -> str:
        return self.in_scope("items", ITEM_FIELDS, lambda: self.expr(t, k))

    def in_duty(self, t: str, k: int) -> str:
        return self.in_scope("Duty", DUTY_FIELDS, lambda: self.expr(t, k))

    def where(self, kind: str, k: int) -> str:
        if self.chance(40):
            return ""
        cond = self.in_items("bool", k) if kind == "items" else self.in_duty("bool", k)
        return f" where {cond}"

    def count(self, k: int) -> str:
        return f"count(items{self.where('items', k)})"

    def decider(self, fn) -> str:
        """The element condition of any / all (see KNOWN["any_all_error_after_the_deciding_element"])."""
        guard = KNOWN["any_all_error_after_the_deciding_element"]
        self.safe += guard
        try:
            return fn()
        finally:
            self.safe -= guard

    def over_items(self, func: str, t: str, k: int) -> str:
        element = self.decider(lambda: self.in_items(t, k)) if func in ("any", "all") else self.in_items(t, k)
        if KNOWN["element_without_element_fields"] and not _reads_any(element, ITEM_FIELDS):
            element = self.in_scope("items", ITEM_FIELDS, lambda: self.pick(ITEM_FIELDS[t])) if t in ITEM_FIELDS \
                else f"(if flag then {element} else {element})"
        return f"{func}(items, {element}{self.where('items', k)})"

    def aggregate_value(self, t: str, k: int) -> str:
        return self.over_items(self.pick(["sum"] if self.safe else ["sum", "min", "max"]), t, k)

    def duty_value(self, t: str, k: int) -> str:
        fieldname = DUTY_FIELDS[t][0]
        if self.chance(50) and not self.safe:
            return f"Duty[{self.duty_key(k)}].{fieldname}"
        return f"sum(Duty, {self.in_duty(t, k)}{self.where('Duty', k)})"

    def duty_key(self, k: int) -> str:
        if self.element_kind == "Duty" and self.chance(50):
            return "dcode"
        return self.pick(["code", "code", "s"]) if self.chance(80) else self.expr("text", max(0, k - 1))

    # -------------------------------------------------------------------------------------------- declarations
    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def value_type(self) -> str:
        if self.on("logic") and self.chance(25):
            return self.pick(["bool", "类别", "档"])
        if self.on("dates") and self.chance(40):
            return self.pick(["date", "text", "int", "duration"])
        return self.pick(["int", "decimal", "money", "percent", "bool", "money"])

    def declaration(self) -> str:
        kinds = ["value", "value"]
        if self.on("tables"):
            kinds += ["table", "unique", "eligibility"]
        kind = self.pick(kinds)
        t = self.value_type() if kind != "eligibility" else "bool"
        depth = self.draw(st.integers(1, 3))
        prefix = self.pick(["fact", "outcome"])
        if kind == "value":
            name = self.fresh("v")
            text = f"{prefix} {name}: {t} = {self.expr(t, depth)}"
        elif kind == "eligibility":
            name = self.fresh("el")
            conds = "\n".join(f"  条件{i}: {self.expr('bool', depth)}" for i in range(self.draw(st.integers(1, 3))))
            text = f"{'outcome ' if prefix == 'outcome' else ''}eligibility {name} {{\n{conds}\n}}"
        else:
            name = self.fresh("tab")
            text = self.table(name, t, kind, prefix == "outcome", depth)
        self.top.setdefault(t, []).append(name)
        return text

    def table(self, name: str, t: str, kind: str, outcome: bool, depth: int) -> str:
        hit = "unique" if kind == "unique" else "first"
        rows = []
        if self.chance(60):  # thresholds on one value: the rows a drafter writes (and may overlap, or leave gaps)
            vt = self.pick(["int", "decimal", "money", "percent"])
            subject = self.pick(FIELDS[vt]) if self.chance(70) else self.expr(vt, 1)
            cuts = sorted({self.lit(vt) for _ in range(self.draw(st.integers(1, 3)))}, key=_literal_order)
            previous = None
            for cut in cuts:
                op = self.pick(["<", "<="])
                cond = f"{subject} {op} {cut}"
                if previous is not None and (hit == "unique" or self.chance(30)):
                    cond = f"{subject} {self.pick(['>=', '>'])} {previous} and {cond}"
                rows.append(cond)
                previous = cut
            if previous is not None and self.chance(70):
                rows.append(f"{subject} {self.pick(['>=', '>'])} {previous}")
        else:
            rows = [self.expr("bool", depth) for _ in range(self.draw(st.integers(1, 3)))]
        body = [f"  when {c} -> {self.expr(t, max(0, depth - 1))}" for c in rows]
        if self.chance(60):
            body.append(f"  otherwise -> {self.expr(t, max(0, depth - 1))}")
        hit_text = hit + (" hit" if self.chance(20) else "")
        return f"{'outcome ' if outcome else ''}table {name}: {t} ({hit_text}) {{\n" + "\n".join(body) + "\n}"

    def params(self) -> tuple[str, list[date]]:
        lines, boundaries = [], []
        for t, name in PARAMS.items():
            if t != "date" and self.chance(50):
                starts = sorted({PARAM_START} | set(self.draw(st.lists(
                    st.sampled_from([date(2023, 1, 1), date(2024, 1, 1), date(2024, 7, 1), date(2024, 6, 30)]),
                    max_size=2))))
                boundaries += starts
                values = "\n".join(f"  from {s} = {self.lit(t)}" for s in starts)
                lines.append(f"param {name}: {t} {{\n{values}\n}}")
            else:
                lines.append(f"param {name}: {t} = {self.lit(t)}")
        return "\n".join(lines), boundaries


def records_duration(amount: int, unit: str) -> Duration:
    return Duration.of(amount, {"年": "year", "个月": "month", "月": "month", "周": "week", "天": "day", "日": "day",
                                "季度": "quarter"}[unit])


def _reads_any(text: str, fields: dict) -> bool:
    names = {n for ns in fields.values() for n in ns}
    return any(re.search(rf"(?<![\w]){re.escape(n)}(?![\w])", text) for n in names)


def _literal_order(text: str) -> Decimal:
    return Decimal(text.strip("()").replace(" 万元", "e4").replace(" 元", "").replace("%", ""))


# ------------------------------------------------------------------------------------------------ records

def _shifted(v, t: str):
    if t == "int":
        return [v - 1, v, v + 1]
    step = {"decimal": Decimal(1).scaleb(-INPUT_PLACES), "money": Decimal("0.01"), "percent": Decimal("0.0001")}[t]
    return [v - step, v, v + step]


def _number_strategy(t: str, pools: Pools, places: int = INPUT_PLACES):
    base = {"int": [0, 1, -1, 2, 100000],
            "decimal": [Decimal(s) for s in ("0", "0.5", "-2.5", "2.5", "1.000001", "0.000001", "999.999999", "-1",
                                             "1234567.123457")],
            "money": [Decimal(s) for s in ("0", "0.01", "0.03", "0.05", "-0.01", "1.15", "2.25", "0.99",
                                           "1234567.89", "12345678.91", "-12.35")],
            "percent": [Decimal(s) for s in ("0", "0.5", "0.125", "1", "-0.1", "0.333333", "0.05")]}[t]
    around = sorted({x for v in pools.values.get(t, ()) for x in _shifted(v, t)})
    if t == "money":  # a record's money is on the fen
        around = sorted({v.quantize(Decimal("0.01")) for v in around})
    generic = {"int": st.integers(-50, 200) | st.integers(-10 ** 6, 10 ** 6),
               "decimal": st.builds(lambda a, s: Decimal(a).scaleb(-s), st.integers(-10 ** 7, 10 ** 7),
                                    st.integers(0, INPUT_PLACES)),
               "money": st.builds(lambda a: Decimal(a).scaleb(-2), st.integers(-10 ** 5, 10 ** 8)),
               "percent": st.builds(lambda a: Decimal(a).scaleb(-4), st.integers(-2000, 20000))}[t]
    options = [st.sampled_from(around)] if around else []
    drawn = st.one_of(*options, st.sampled_from(base), generic)
    if t in ("decimal", "percent"):  # a record's decimals and percents have at most INPUT_PLACES places
        step = Decimal(1).scaleb(-places)
        drawn = drawn.map(lambda v: v.quantize(step, rounding=ROUND_HALF_UP) if v.as_tuple().exponent < -places else v)
    return drawn


TEXTS = ["", "a", "D1", "D2", "D3", " D1", "甲 乙", "x,y", 'say "hi"', "D9", "a\nb"]


def _date_pool(as_of: date, pools: Pools) -> list[date]:
    """The as-of date and its neighbours, birthdays around it, leap days, the policy's own dates ± 1."""
    near = {as_of, as_of - timedelta(days=1), as_of + timedelta(days=1), date(2024, 2, 29), date(2023, 12, 31),
            date(2024, 3, 31), date(2020, 2, 29)}
    for years in (1, 5, 18, 35, 57, 60):
        try:
            birthday = as_of.replace(year=as_of.year - years)
        except ValueError:  # 29 February
            birthday = date(as_of.year - years, 2, 28)
        near |= {birthday, birthday - timedelta(days=1), birthday + timedelta(days=1)}
    near |= {x for v in pools.values["date"] for x in (v - timedelta(days=1), v, v + timedelta(days=1))}
    return sorted(near)


def _value_strategies(pools: Pools, as_of: date, duty_keys: list[str], places: int = INPUT_PLACES) -> dict:
    """One strategy per type (built once per case: building strategies costs more than drawing from them)."""
    strategies = {t: _number_strategy(t, pools, places) for t in NUMERIC}
    strategies["bool"] = st.booleans()
    strategies["text"] = st.sampled_from(duty_keys + TEXTS + sorted(pools.values["text"]))
    strategies["date"] = st.sampled_from(_date_pool(as_of, pools)) | st.dates(date(1950, 1, 1), date(2035, 12, 31))
    strategies["code"] = st.sampled_from(duty_keys + ["D9", ""])
    around = sorted(pools.values.get("duration", ()))
    strategies["duration"] = st.one_of(
        *([st.sampled_from(around)] if around else []),
        st.sampled_from([Duration(0, 0), Duration(12, 0), Duration(6, 0), Duration(1, 5), Duration(0, 30)]),
        st.builds(Duration, st.integers(0, 60), st.just(0)), st.builds(Duration, st.just(0), st.integers(0, 400)),
        st.builds(Duration, st.integers(0, 30), st.integers(0, 40)))
    for name, labels in ENUMS.items():
        strategies[name] = st.sampled_from(labels)
    return strategies


def _records(draw, strategies: dict, count: int) -> list[tuple[str, dict]]:
    records = []
    for i in range(count):
        key = f"R{i + 1}"
        values = {"k": key}
        for t, names in FIELDS.items():
            for name in names:
                values[name] = draw(strategies["code" if name == "code" else t])
        items = []
        for j in range(draw(st.integers(0, 3))):
            item = {"iid": f"{key}-{j + 1}", "owner": key}
            for t, names in ITEM_FIELDS.items():
                for name in names:
                    if name != "iid":
                        item[name] = draw(strategies[t])
            items.append(item)
        values["items"] = tuple(items)
        records.append((key, values))
    return records


def _duty_rows(draw, pools: Pools, places: int = INPUT_PLACES) -> tuple[str, list[str]]:
    money, percent = _number_strategy("money", pools), _number_strategy("percent", pools, places)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["dcode", "unit", "fee", "level", "share", "dok"])
    keys = [f"D{i + 1}" for i in range(draw(st.integers(1, 3)))]
    for key in keys:
        fee, share = draw(money).quantize(Decimal("0.01")), draw(percent)
        writer.writerow([key, draw(st.sampled_from(["乡镇", "商务局", "", "a,b"])), f"{fee:f}",
                         draw(st.integers(-2, 5)), f"{share * 100:f}%", draw(st.sampled_from(["true", "false"]))])
    return out.getvalue(), keys


@st.composite
def cases(draw, features: frozenset, nodes: tuple[int, int] = (1, 4), records: tuple[int, int] = (6, 18),
          summaries: bool = False, places: int = INPUT_PLACES) -> Case:
    gen = Gen(draw, features)
    params, boundaries = gen.params()
    declarations = [gen.declaration() for _ in range(draw(st.integers(*nodes)))]
    if summaries:
        declarations += summary_declarations(gen)
    text = (f'policy 差分 "generated"\n  subject R\n  effective {EFFECTIVE}\n\n{SCHEMA}\n{params}\n\n'
            + "\n".join(declarations) + "\n")
    as_of = draw(st.sampled_from(sorted({EFFECTIVE, PARAM_START, date(2024, 2, 29), date(2024, 12, 31)}
                                        | set(boundaries) | {b - timedelta(days=1) for b in boundaries
                                                             if b > PARAM_START})))
    duty_csv, duty_keys = _duty_rows(draw, gen.pools, places)
    strategies = _value_strategies(gen.pools, as_of, duty_keys, places)
    return Case(text, duty_csv, as_of, _records(draw, strategies, draw(st.integers(*records))), features, summaries)


def summary_declarations(gen: Gen) -> list[str]:
    """Summaries over all records: aggregates of each record's fields and nodes (those are in scope)."""
    element = {t: list(names) for t, names in gen.top.items() if t not in PARAMS.values()}
    params = set(PARAMS.values())
    element = {t: [n for n in names if n not in params] for t, names in element.items()}
    out, previous = [], []
    for i in range(gen.draw(st.integers(1, 3))):
        name = f"总{i + 1}"
        func = gen.pick(["count", "sum", "min", "max", "any", "all", "distinct"])
        saved = gen.top
        gen.top = {t: [n for n in names if n in params] for t, names in gen.top.items()}  # params stay readable
        try:
            gen.element, gen.element_kind = element, "records"
            gen.stack.append("records")
            where = f" where {gen.expr('bool', 1)}" if gen.chance(40) else ""
            if func == "count":
                body, t = f"count(records{where})", "int"
            elif func in ("any", "all"):
                body, t = f"{func}(records, {gen.expr('bool', 1)}{where})", "bool"
            elif func == "distinct":
                body, t = f"distinct(records, {gen.expr(gen.pick(gen.scalars()), 1)}{where})", "int"
            else:
                t = gen.pick(["int", "decimal", "money", "percent"] + (["date"] if func != "sum" else []))
                body = f"{func}(records, {gen.expr(t, 1)}{where})"
        finally:
            gen.top = saved
            gen.stack.pop()
            gen.element, gen.element_kind = None, None
        if previous and t in ("int", "decimal", "money") and gen.chance(30):
            other = gen.pick(previous)
            body, t = f"({body} + {other[0]})" if other[1] == t else body, t
        out.append(f"summary {name}: {t} = {body}")
        previous.append((name, t))
    return out


# ================================================================================================ running both

def _load(case: Case, folder: Path):
    (folder / "duty.csv").write_text(case.duty_csv, encoding="utf-8")
    path = folder / "p.policy"
    path.write_text(case.text, encoding="utf-8")
    try:
        return api.load_policy(str(path))  # a generated policy that does not check is a generator bug …
    except PolicyError as exc:  # … except for the checker's own known mistake
        if KNOWN["match_takes_the_expected_type"] and any(
                re.match(r"this arm gives \S+, but earlier arms give", d.message) for d in exc.diagnostics):
            reject()
        # a divisor the generator drew as a constant 0 (`x / 0`, `x / (0 * n)`): `check` rightly refuses it
        if all(d.message.startswith("division by zero: this divisor is always 0") for d in exc.diagnostics):
            reject()
        raise


def _same(a, b) -> bool:
    if KNOWN["duration_values_as_dicts"] and hasattr(b, "asDict"):  # Spark's Row(months=…, days=…)
        b = b.asDict()
    if KNOWN["duration_values_as_dicts"] and isinstance(b, dict) and set(b) == {"months", "days"}:
        b = Duration(b["months"], b["days"])
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, Decimal)) and isinstance(b, (int, Decimal)):
        return Decimal(a) == Decimal(b)
    return type(a) is type(b) and a == b


def compare_engines(policy, records: list[tuple[str, dict]], as_of: date, dialect: str = "duckdb") -> list[str]:
    """Every difference between the row evaluator and a SQL engine on these records (empty when they agree)."""
    engine = Engine(policy)
    if as_of == EFFECTIVE:
        as_of = None  # both engines then evaluate at the policy's `effective` date
    sql = evaluate_records(policy, records, as_of, dialect=dialect)
    assert len(sql) == len(records)
    problems = []
    for (record_id, values), got in zip(records, sql):
        want = engine.evaluate(values, as_of, record_id=record_id)
        if want.error is not None or got.error is not None:
            if want.error != got.error:
                problems.append(f"{record_id}: row error {want.error!r}, {dialect} error {got.error!r}")
            continue
        expected = engine.all_values(values, as_of)
        for name, value in expected.items():
            if name == "items":
                continue
            if name not in got.values or not _same(value, got.values[name]):
                problems.append(f"{record_id}: {name}: row {value!r}, {dialect} {got.values.get(name, '<missing>')!r}")
    return problems


def _overflow(exc: Exception) -> bool:
    """Whether a SQL engine stopped because a value outgrew its DECIMAL / BIGINT (KNOWN["narrow_decimal_overflow"])."""
    text = str(exc)
    return KNOWN["narrow_decimal_overflow"] and any(
        words in text for words in ("Overflow in multiplication", "out of range", "Overflow in addition",
                                    "Overflow in subtraction", "could not evaluate these records"))


def check_case(case: Case, dialect: str = "duckdb") -> None:
    with tempfile.TemporaryDirectory(prefix="policydsl-diff-") as tmp:
        policy = _load(case, Path(tmp))
        try:
            problems = compare_engines(policy, case.records, case.as_of, dialect)
        except Exception as exc:  # noqa: BLE001 - only the known overflow is tolerated
            if _overflow(exc):
                reject()
            raise
    assert not problems, "\n".join(problems[:12])


# ================================================================================================ the properties

EVERYTHING = frozenset({"arith", "logic", "tables", "dates", "agg", "list"})

@_settings(40)
@given(cases(frozenset({"arith"})))
def test_arithmetic_rounding_and_dated_params_agree(case):
    """int / decimal / money / percent arithmetic, division by values that may be 0, round (every mode), floor,
    ceil, abs, min / max / clamp, comparisons and `if`, plain and dated params at their boundary dates."""
    check_case(case)


@_settings(40)
@given(cases(frozenset({"arith", "logic", "tables"})))
def test_logic_match_tables_and_eligibility_agree(case):
    """and / or / not, match (with | and else), membership in value lists, ordered enums, first- and unique-hit
    tables (overlapping rows, gaps without `otherwise`), eligibility blocks."""
    check_case(case)


@_settings(35)
@given(cases(frozenset({"dates", "logic"})))
def test_dates_and_text_agree(case):
    """years_between / months_between / days_between around birthdays and leap days, year / month / quarter,
    same_year / same_quarter / same_month, text concatenation and text() of every type."""
    check_case(case)


@_settings(40)
@given(cases(frozenset({"arith", "agg", "logic"})))
def test_aggregates_over_related_records_agree(case):
    """count / sum / min / max / any / all / distinct over `list of Item by owner`, with and without `where`,
    on records with no, one and several related items; element expressions that read the record's own values."""
    check_case(case)


@_settings(30)
@given(cases(frozenset({"arith", "list", "logic"})))
def test_lookups_in_an_external_list_agree(case):
    """`Duty[key].field` (missing keys are errors), `key in Duty`, count / sum / any / all over the list."""
    check_case(case)


@_settings(25)
@given(cases(EVERYTHING, nodes=(2, 5)))
def test_everything_together_agrees(case):
    check_case(case)


def _spark_available() -> str | None:
    """Why the Spark sample cannot run here (None: it can)."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install '.[spark]')"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "Java is not installed"
    return None


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.skipif(_spark_available() is not None, reason=str(_spark_available()))
@pytest.mark.skipif(not SPARK_EXAMPLES, reason="opt-in: POLICYDSL_SPARK_EXAMPLES=N runs N examples on Spark "
                                               "(the Spark engine does not pass the strategy yet; see the report)")
@settings(max_examples=SPARK_EXAMPLES or 1, deadline=None, derandomize=not FUZZ,
          database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
          phases=[Phase.explicit, Phase.generate])  # no shrinking: each step would cost seconds
@given(cases(EVERYTHING, nodes=(2, 4)))
def test_spark_agrees_on_a_bounded_sample(case):
    """The same strategy on Spark SQL, a few examples (each call costs seconds; the first starts the JVM)."""
    check_case(case, dialect="spark")


# ------------------------------------------------------------------------------------------------ summaries (files)

def _cell(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Decimal):
        return f"{v:f}"
    return v.isoformat() if isinstance(v, date) else str(v)


def _write_records(folder: Path, records: list[tuple[str, dict]]) -> tuple[Path, Path]:
    subject = [n for names in FIELDS.values() for n in names]
    item_fields = ["iid", "owner"] + [n for names in ITEM_FIELDS.values() for n in names if n != "iid"]
    main, related = folder / "records.csv", folder / "items.csv"
    with open(main, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["k"] + subject)
        for key, values in records:
            w.writerow([key] + [_cell(values[n]) for n in subject])
    with open(related, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(item_fields)
        for _, values in records:
            for item in values["items"]:
                w.writerow([_cell(item[n]) for n in item_fields])
    return main, related


@_settings(16)
@given(cases(frozenset({"arith", "logic", "tables", "dates"}), nodes=(1, 3), records=(3, 10), summaries=True))
def test_files_and_summaries_agree(case):
    """The same records as files, run end to end on both engines: the same results file, the same records
    refused (empty texts, odd cells go through the careful converter), the same evaluation errors and summaries."""
    with tempfile.TemporaryDirectory(prefix="policydsl-diff-") as tmp:
        folder = Path(tmp)
        policy = _load(case, folder)
        main, related = _write_records(folder, case.records)
        runs = {}
        for engine in ("row", "duckdb"):
            out = folder / f"{engine}.csv"
            try:
                batch = run_batch(policy, main, related={"items": related}, as_of=case.as_of, out=out, engine=engine)
            except Exception as exc:  # noqa: BLE001 - only the known overflow is tolerated
                if _overflow(exc):
                    reject()
                raise
            runs[engine] = (out.read_text(encoding="utf-8"), [e.render() for e in batch.data_errors],
                            batch.failed_ids, [(f.record_id, f.message) for f in batch.evaluation_failures],
                            batch.ok_count, batch.summaries)
    row, sql = runs["row"], runs["duckdb"]
    for what, a, b in zip(("results file", "data errors", "failed ids", "evaluation failures", "ok count"),
                          row[:5], sql[:5]):
        if what == "results file" and KNOWN["empty_results_file"] and row[4] == 0:
            continue
        assert a == b, f"{what} differ:\nrow:    {a!r}\nduckdb: {b!r}"
    assert row[5].keys() == sql[5].keys()
    for name in row[5]:
        assert _same(row[5][name], sql[5][name]), f"summary {name}: row {row[5][name]!r}, duckdb {sql[5][name]!r}"


# ================================================================================================ regressions
#
# Each is the smallest policy and record found for one disagreement, asserting the value the language reference
# gives. Unfixed ones are xfail(strict=True): they start failing (XPASS) the day the engine is fixed, so the mark
# (and the generator's KNOWN switch) can go.

def _run_both(tmp_path, text: str, records: list[tuple[str, dict]], as_of: date = EFFECTIVE, duty: str = ""):
    (tmp_path / "duty.csv").write_text(duty or "dcode,unit,fee,level,share,dok\n", encoding="utf-8")
    path = tmp_path / "p.policy"
    path.write_text(text, encoding="utf-8")
    policy = api.load_policy(str(path))
    engine = Engine(policy)
    row = [engine.evaluate(v, as_of, record_id=r) for r, v in records]
    row = [(r.error, engine.all_values(v, as_of) if r.ok else None) for r, (_, v) in zip(row, records)]
    sql = [(r.error, r.values if r.ok else None) for r in evaluate_records(policy, records, as_of)]
    return row, sql


def _values(result: tuple, *names: str) -> tuple:
    error, values = result
    assert error is None, error
    return tuple(values[n] for n in names)


HEADER = 'policy 回归 "regression"\n  subject R\n  effective 2024-06-30\n'


def test_regression_unique_table_overlap_and_division_by_zero_give_the_same_errors(tmp_path):
    """Evaluation errors are compared word for word (a passing baseline for the regressions below)."""
    text = HEADER + """
record R key k { k: text, n: int, m: money }
table 档次: int (unique) {
  when n >= 60 -> 1
  when n >= 59 -> 2
  otherwise -> 0
}
outcome 每人: money = m / (n - 60)
"""
    records = [("A", {"k": "A", "n": 59, "m": Decimal("1.00")}), ("B", {"k": "B", "n": 60, "m": Decimal("1.00")}),
               ("C", {"k": "C", "n": 63, "m": Decimal("0.01")})]
    row, sql = _run_both(tmp_path, text, records)
    assert row == sql
    assert [e for e, _ in row] == [None, "档次: unique table: rows 1 (line 7) and 2 (line 8) both apply",
                                   "档次: unique table: rows 1 (line 7) and 2 (line 8) both apply"]
    assert _values(row[0], "每人") == (Decimal("-1.00"),)


def test_regression_text_of_money_off_the_fen_rounds_half_up(tmp_path):
    """text(0.01 元 × 50%) is the text of 0.005 元 rounded to the fen half up (四舍五入): "0.01", as DuckDB gives;
    the row evaluator gives "0.00" (half even). 0.01 元 × -40% = -0.004 元 is "0.00", not "-0.00"."""
    text = HEADER + """
record R key k { k: text, m: money, p: percent }
outcome 文本: text = text(m * p)
"""
    records = [("A", {"k": "A", "m": Decimal("0.01"), "p": Decimal("0.5")}),
               ("B", {"k": "B", "m": Decimal("0.01"), "p": Decimal("-0.4")}),
               ("C", {"k": "C", "m": Decimal("0.03"), "p": Decimal("0.5")})]
    row, sql = _run_both(tmp_path, text, records)
    assert [_values(r, "文本") for r in sql] == [("0.01",), ("0.00",), ("0.02",)]
    assert [_values(r, "文本") for r in row] == [("0.01",), ("0.00",), ("0.02",)]


def test_regression_relation_aggregate_inside_an_aggregate(tmp_path):
    """Inside `count(items where …)` the name `items` is still the record's items: count(items) is 2, so one item
    has q > 2. DuckDB gives 2 (the inner count goes over the items whose owner is the *item's* key: none)."""
    text = HEADER + """
record Item key iid { iid: text, owner: text, q: int }
record R key k { k: text, items: list of Item by owner }
outcome 大于件数: int = count(items where q > count(items))
"""
    records = [("A", {"k": "A", "items": ({"iid": "A1", "owner": "A", "q": 1}, {"iid": "A2", "owner": "A", "q": 5})})]
    row, sql = _run_both(tmp_path, text, records)
    assert _values(row[0], "大于件数") == (1,)
    assert _values(sql[0], "大于件数") == (1,)


def test_regression_aggregate_element_reading_only_the_record(tmp_path):
    """`sum(items, n)` adds the record's n once per item; `any(items, ok)` is ok when there is an item. DuckDB
    refuses the whole query: "column __row must appear in the GROUP BY clause"."""
    text = HEADER + """
record Item key iid { iid: text, owner: text, q: int }
record R key k { k: text, n: int, ok: bool, items: list of Item by owner }
outcome 合计: int = sum(items, n)
outcome 有: bool = any(items, ok)
"""
    items = ({"iid": "A1", "owner": "A", "q": 1}, {"iid": "A2", "owner": "A", "q": 5})
    records = [("A", {"k": "A", "n": 3, "ok": True, "items": items}), ("B", {"k": "B", "n": 3, "ok": True, "items": ()})]
    row, sql = _run_both(tmp_path, text, records)
    assert [_values(r, "合计", "有") for r in row] == [(6, True), (0, False)]
    assert [_values(r, "合计", "有") for r in sql] == [(6, True), (0, False)]


def test_regression_decimal_products_and_quotients_of_ordinary_size(tmp_path):
    """Sums and products are exact, quotients rounded to 10 places (types.multiply / divide), with no limit a county
    reaches. DuckDB keeps a decimal in DECIMAL(18, s): x × x for x = 1000 (6 + 6 places) is "Overflow in
    multiplication of DECIMAL(18)", 50% × 2,000,000 likewise, and 300,000,000 元 / 2 (a quotient has 10 places, so
    8 digits before the point) is "Casting value 150000000.0000000000 to type DECIMAL(18,10) failed". The run stops
    (run_batch: EngineUnavailable naming --engine row; evaluate_records, hence `policydsl test --engine duckdb`:
    the raw DuckDB error)."""
    text = HEADER + """
record R key k { k: text, x: decimal, y: decimal, p: percent, m: money }
outcome 平方: decimal = x * x
outcome 份额: decimal = p * y
outcome 一半: money = m / 2
"""
    records = [("A", {"k": "A", "x": Decimal("1000"), "y": Decimal("2000000"), "p": Decimal("0.5"),
                      "m": Decimal("300000000")})]
    want = (Decimal(1000000), Decimal(1000000), Decimal(150000000))
    row, sql = _run_both(tmp_path, text, records)
    assert _values(row[0], "平方", "份额", "一半") == want
    assert _values(sql[0], "平方", "份额", "一半") == want


def test_regression_round_to_negative_places(tmp_path):
    """The checker accepts `round(x, -1)` (tens) and the row evaluator gives 30 for 25 (half up); the SQL compiler
    crashes with sqlglot's ParseError instead of computing it or refusing it by name."""
    text = HEADER + """
record R key k { k: text, x: decimal }
outcome 十位: decimal = round(x, -1)
"""
    row, sql = _run_both(tmp_path, text, [("A", {"k": "A", "x": Decimal("25")})])
    assert _values(row[0], "十位") == (Decimal(30),)
    assert _values(sql[0], "十位") == (Decimal(30),)


def test_regression_match_of_percentages_inside_an_else_branch_checks(tmp_path):
    """`m * (match e { … -> 50% })` is money × percent, well typed on its own and as a `then` branch; as the `else`
    branch `check` reports "this arm gives percent, but earlier arms give money" and "cannot multiply money and
    money" (semantics._e_MatchExpr starts from `expected`, which _e_IfExpr sets to the then-branch's type)."""
    text = HEADER + """
enum 类别 { 甲, 乙 }
record R key k { k: text, m: money, e: 类别, ok: bool }
outcome 金额: money = if ok then m else m * (match e { 甲 -> 50%, 乙 -> 30% })
"""
    records = [("A", {"k": "A", "m": Decimal("0.01"), "e": "甲", "ok": False}),
               ("B", {"k": "B", "m": Decimal("10"), "e": "乙", "ok": True})]
    row, sql = _run_both(tmp_path, text, records)
    assert [_values(r, "金额") for r in row] == [(Decimal("0.01"),), (Decimal("10"),)]
    assert [_values(r, "金额") for r in sql] == [(Decimal("0.01"),), (Decimal("10"),)]


def test_regression_any_and_all_stop_at_the_deciding_element(tmp_path):
    """any(items, 10 / q > 1) is true at the first item (q = 1): the row evaluator never divides by the second
    item's q = 0; DuckDB reports "division by zero". Likewise all(…) at its first false element, and any/all over an
    external list (unrolled at compile time)."""
    text = HEADER + """
record Item key iid { iid: text, owner: text, q: int }
record R key k { k: text, items: list of Item by owner }
list Duty from "duty.csv" key dcode { dcode: text, level: int }
outcome 有大: bool = any(items, 10 / q > 1)
outcome 全大: bool = all(items, 10 / q > 100)
outcome 清单有大: bool = any(Duty, 10 / level > 1)
"""
    items = ({"iid": "A1", "owner": "A", "q": 1}, {"iid": "A2", "owner": "A", "q": 0})
    row, sql = _run_both(tmp_path, text, [("A", {"k": "A", "items": items})], duty="dcode,level\nD1,1\nD2,0\n")
    assert _values(row[0], "有大", "全大", "清单有大") == (True, False, True)
    assert _values(sql[0], "有大", "全大", "清单有大") == (True, False, True)


def test_regression_every_eligibility_condition_runs(tmp_path):
    """Every condition of an eligibility runs, a failed one included: `Duty[code].dok` after a false `ok` is an
    error for a code not in the list on every engine (the row evaluator's untraced form stopped at the first false
    condition, so it gave false where its traced form and DuckDB gave the error)."""
    text = HEADER + """
record R key k { k: text, ok: bool, code: text }
list Duty from "duty.csv" key dcode { dcode: text, dok: bool }
eligibility 合格 {
  条件0: ok
  条件1: Duty[code].dok
}
"""
    records = [("A", {"k": "A", "ok": False, "code": "D9"}), ("B", {"k": "B", "ok": False, "code": "D1"})]
    row, sql = _run_both(tmp_path, text, records, duty="dcode,dok\nD1,true\n")
    assert [error for error, _ in row] == ["合格: 'D9' is not in list Duty", None]
    assert [error for error, _ in sql] == [error for error, _ in row]
    policy = api.load_policy(str(tmp_path / "p.policy"))
    traced = Engine(policy).evaluate(records[0][1], EFFECTIVE, trace=True, record_id="A")
    assert traced.error == row[0][0]


def test_regression_same_period_compared_with_a_bool(tmp_path):
    """`ok == same_year(d1, d2)` is bool == bool; DuckDB refuses the whole query ("Chained comparisons are not
    supported"): the SQL is `"ok" = YEAR(d1) = YEAR(d2)`."""
    text = HEADER + """
record R key k { k: text, ok: bool, d1: date, d2: date }
outcome 同年: bool = ok == same_year(d1, d2)
outcome 不同季: bool = ok != same_quarter(d1, d2)
"""
    records = [("A", {"k": "A", "ok": True, "d1": date(2024, 1, 1), "d2": date(2024, 5, 1)}),
               ("B", {"k": "B", "ok": True, "d1": date(2023, 12, 31), "d2": date(2024, 1, 1)})]
    row, sql = _run_both(tmp_path, text, records)
    assert [_values(r, "同年", "不同季") for r in row] == [(True, True), (False, True)]
    assert [_values(r, "同年", "不同季") for r in sql] == [(True, True), (False, True)]


def test_regression_large_int_products(tmp_path):
    """Ints were unbounded on the row evaluator, BIGINT in SQL: a product beyond 2^63 stopped the whole DuckDB run
    ("Overflow in multiplication of INT64"). Now an int value beyond the 64-bit range fails its record in the same
    words on every engine, and what is computed inside a rule is exact beyond it (n⁴ − n⁴ + n with n⁴ = 10^20)."""
    text = HEADER + """
record R key k { k: text, n: int }
fact 积: int = n * n * n * n
outcome 回落: int = n * n * n * n - n * n * n * n + n
outcome 结果: int = 积 + 1
"""
    records = [("A", {"k": "A", "n": 100000}), ("B", {"k": "B", "n": 2}), ("C", {"k": "C", "n": 55108})]
    row, sql = _run_both(tmp_path, text, records)
    beyond = "积: the whole number 100000000000000000000 is beyond the range of int " \
             "(-9223372036854775808 to 9223372036854775807)"
    assert [error for error, _ in row] == [beyond, None, None]
    assert [error for error, _ in sql] == [beyond, None, None]
    assert [_values(r, "回落", "结果") for r in row[1:]] == [(2, 17), (55108, 55108 ** 4 + 1)]
    assert [_values(r, "回落", "结果") for r in sql[1:]] == [(2, 17), (55108, 55108 ** 4 + 1)]


def test_regression_int_totals_and_fields_beyond_the_range(tmp_path):
    """A total of related ints beyond the 64-bit range fails its record on every engine (DuckDB's cast of its
    HUGEINT sum to BIGINT stopped the run); an int cell beyond the range is a bad record on every engine."""
    (tmp_path / "p.policy").write_text(HEADER + """
record Item key iid { iid: text, owner: text, q: int }
record R key k { k: text, n: int, items: list of Item by owner }
outcome 总: int = sum(items, q)
outcome 倍: int = n * 2
""", encoding="utf-8")
    (tmp_path / "r.csv").write_text("k,n\nA,1\nB,2\nC,9223372036854775808\n", encoding="utf-8")
    (tmp_path / "i.csv").write_text("iid,owner,q\ni1,A,9223372036854775000\ni2,A,1000\ni3,B,5\n", encoding="utf-8")
    policy = api.load_policy(str(tmp_path / "p.policy"))
    reports = {}
    for engine in ("row", "duckdb"):
        batch = run_batch(policy, tmp_path / "r.csv", related={"items": tmp_path / "i.csv"},
                          out=tmp_path / f"{engine}.csv", engine=engine)
        reports[engine] = ([e.render() for e in batch.data_errors],
                           [(f.record_id, f.message) for f in batch.evaluation_failures],
                           (tmp_path / f"{engine}.csv").read_text(encoding="utf-8"))
    assert reports["duckdb"] == reports["row"]
    errors, failures, written = reports["row"]
    assert failures == [("A", "总: the whole number 9223372036854776000 is beyond the range of int "
                              "(-9223372036854775808 to 9223372036854775807)")]
    assert len(errors) == 1 and "record C: field n: expected an integer from -9223372036854775808 to " \
                                "9223372036854775807, got '9223372036854775808'" in errors[0]
    assert written.splitlines() == ["k,总,倍", "B,5,4"]


def test_regression_durations_come_back_as_durations(tmp_path):
    """A duration outcome is a types.Duration on every engine: `expect 任期 = 5 年` passes on the row evaluator and
    fails on duckdb (actual value {'months': 60, 'days': 0})."""
    text = HEADER + """
record R key k { k: text, d: date, 试用: duration }
outcome 任期: duration = 5 年 + 试用
outcome 到期: date = d + 任期
example "five years and a probation" {
  given R { k: "A", d: 2024-01-31, 试用: 1 个月 }
  expect 任期 = 61 个月, 到期 = 2029-02-28
}
"""
    row, sql = _run_both(tmp_path, text, [("A", {"k": "A", "d": date(2024, 1, 31), "试用": Duration(1, 0)})])
    assert _values(row[0], "任期", "到期") == (Duration(61, 0), date(2029, 2, 28))
    policy = api.load_policy(str(tmp_path / "p.policy"))
    assert [o.passed for o in api.run_examples(policy, on="row")] == [True]
    assert _values(sql[0], "任期", "到期", "试用") == (Duration(61, 0), date(2029, 2, 28), Duration(1, 0))
    assert [(o.passed, o.mismatches) for o in api.run_examples(policy, on="duckdb")] == [(True, ())]


def test_regression_abs_of_a_date_or_a_duration_is_a_check_error(tmp_path):
    """abs(x) is for "numbers of one type" (language reference); `abs(任期)` and `abs(d)` check clean today and
    then crash the row evaluator with TypeError ("bad operand type for abs(): 'Duration'") and DuckDB with a Binder
    Error. They should be check errors."""
    path = tmp_path / "p.policy"
    path.write_text(HEADER + """
record R key k { k: text, d: date, 任期: duration }
outcome 长: duration = abs(任期)
outcome 日: date = abs(d)
""", encoding="utf-8")
    report = api.check([str(path)])
    assert [d.message for d in report.errors if "abs" in d.message] != []


def test_regression_results_file_when_no_record_evaluates(tmp_path):
    """Every record fails (division by zero): `run --engine row` writes "\\n", `--engine duckdb` writes "k,v\\n". The
    issue asks for byte-identical results files; the header row (DuckDB's) is the one a reader of the file can use."""
    (tmp_path / "p.policy").write_text(HEADER + """
record R key k { k: text, n: int }
outcome v: decimal = 1 / n
""", encoding="utf-8")
    (tmp_path / "r.csv").write_text("k,n\nA,0\n", encoding="utf-8")
    policy = api.load_policy(str(tmp_path / "p.policy"))
    for engine in ("row", "duckdb"):
        batch = run_batch(policy, tmp_path / "r.csv", out=tmp_path / f"{engine}.csv", engine=engine)
        assert [(f.record_id, f.message) for f in batch.evaluation_failures] == [("A", "v: division by zero")]
    assert (tmp_path / "row.csv").read_text(encoding="utf-8") == (tmp_path / "duckdb.csv").read_text(encoding="utf-8")


def test_regression_example_with_a_decimal_finer_than_records_allow(tmp_path):
    """`given R { x: 0.1234567 }` checked clean and passed `policydsl test` on the row engine; on duckdb it stopped
    with "holds a value the duckdb engine cannot hold". Records refuse more than INPUT_PLACES places (money more
    than the fen), so the checker refuses such an example, naming the field; six places still run everywhere."""
    (tmp_path / "p.policy").write_text(HEADER + """
record R key k { k: text, x: decimal, p: percent, m: money }
outcome v: decimal = x * 2
example "seven places" {
  given R { k: "A", x: 0.1234567, p: 12.34567%, m: 1.00 元 }
  expect v = 0.2469134
}
""", encoding="utf-8")
    report = api.check([str(tmp_path / "p.policy")])  # (money finer than a fen is refused as a literal already)
    assert [d.message.split(":")[0] for d in report.errors] == ["field 'x'", "field 'p'"]
    assert "at most 6 decimal places" in report.errors[0].message
    (tmp_path / "q.policy").write_text(HEADER + """
record R key k { k: text, x: decimal }
outcome v: decimal = x * 2
example "six places" {
  given R { k: "A", x: 0.123456 }
  expect v = 0.246912
}
""", encoding="utf-8")
    policy = api.load_policy(str(tmp_path / "q.policy"))
    assert [o.passed for o in api.run_examples(policy, on="row")] == [True]
    assert [o.passed for o in api.run_examples(policy, on="duckdb")] == [True]


@pytest.mark.spark
@pytest.mark.skipif(_spark_available() is not None, reason=str(_spark_available()))
@pytest.mark.skipif(not SPARK_EXAMPLES, reason="opt-in with POLICYDSL_SPARK_EXAMPLES=N (starting Spark costs ~30 s)")
@pytest.mark.xfail(strict=True, reason="spark engine: a decimal or percent input with more than INPUT_PLACES places "
                                       "is read as NULL, and every value computed from it is NULL, with no error")
def test_regression_spark_refuses_a_decimal_finer_than_records_allow(tmp_path):
    """DuckDB refuses x = 0.4999999 (7 places) with EngineUnavailable; Spark gives x = None and x + 1 = None for
    that record, silently (0.5 is read correctly)."""
    from policydsl.engines.base import EngineUnavailable
    (tmp_path / "p.policy").write_text(HEADER + """
record R key k { k: text, x: decimal }
outcome 加一: decimal = x + 1
""", encoding="utf-8")
    policy = api.load_policy(str(tmp_path / "p.policy"))
    records = [("A", {"k": "A", "x": Decimal("0.4999999")}), ("B", {"k": "B", "x": Decimal("0.5")})]
    with pytest.raises(EngineUnavailable):
        evaluate_records(policy, records, EFFECTIVE)
    with pytest.raises(EngineUnavailable):
        evaluate_records(policy, records, EFFECTIVE, dialect="spark")


# ================================================================================================ across records
#
# Rules that read the other records (issue 10): ranks, top/bottom, apportion, grant and aggregates within groups,
# summaries read by rules. The records are few and their values small, so that ties, empty groups, groups of one,
# all-equal keys, negative weights and records that failed before (商 divides by n, which may be 0) all occur.

ACROSS_SCHEMA = HEADER + """
enum 档 ordered { 低, 中, 高 }
record R key k { k: text, n: int, w: int, m: money, g: text, e: 档, ok: bool }
fact 商 = 12 / n
fact 加权: int = w + n
summary 总: int = sum(records, w)
summary 正数: int = count(records where n > 0)
summary 最小: int = min(records, n where n > 2)
"""

ACROSS_KEYS = ["n", "n desc", "m", "m desc", "e", "e desc", "ok", "商", "商 desc", "k desc", "w", "g"]
ACROSS_GROUPS = ["", " within g", " within e", " within ok", " within n > 1"]


@st.composite
def across_exprs(draw, earlier: list[str]) -> str:
    """One value across records, in the policy's syntax (it may order by an earlier one: a later pass)."""
    keys = draw(st.lists(st.sampled_from(ACROSS_KEYS + earlier), min_size=1, max_size=2,
                         unique_by=lambda k: k.split()[0]))
    by = " by " + ", ".join(keys)
    within = draw(st.sampled_from(ACROSS_GROUPS))
    ties = f" ties {draw(st.sampled_from(['standard', 'dense', 'ordinal']))}"
    kind = draw(st.sampled_from(["rank", "percent_rank", "top", "bottom", "topp", "apportion", "grant", "agg"]))
    if kind == "rank":
        return f"rank({by.strip()}{ties}{within})"
    if kind == "percent_rank":
        return f"percent_rank({by.strip()}{within})"
    if kind == "top" or kind == "bottom":
        count = draw(st.sampled_from(["0", "1", "2", "4", "-1", "正数"]))
        return f"{kind}({count}{by}{ties}{within})"
    if kind == "topp":
        share = draw(st.sampled_from(["0%", "25%", "50%", "12.5%", "100%", "-10%", "33%"]))
        rounding = draw(st.sampled_from(["up", "down", "half_up"]))
        return f"{draw(st.sampled_from(['top', 'bottom']))}({share}{by}{ties} rounding {rounding}{within})"
    if kind == "apportion":
        total = draw(st.sampled_from(["0", "1", "7", "10", "-1", "总"]))
        weight = draw(st.sampled_from(["w", "n", "加权", "1", "0"]))
        method = draw(st.sampled_from(["largest_remainder", "dhondt"]))
        return f"apportion({total}, {weight}{by} method {method}{within})"
    if kind == "grant":
        request = draw(st.sampled_from(["w", "n", "加权", "2"]))
        pool = draw(st.sampled_from(["0", "3", "5", "10", "-1", "总"]))
        method = draw(st.sampled_from(["partial", "whole"]))
        return f"grant({request}, {pool}{by} method {method}{within})"
    where = draw(st.sampled_from(["", " where ok", " where n > 1", " where 商 > 5"]))
    return draw(st.sampled_from([
        f"count(records{where}{within})", f"sum(records, m{where}{within})", f"sum(records, w{where}{within})",
        f"min(records, n{where}{within})", f"max(records, m{where}{within})", f"any(records, ok{where}{within})",
        f"all(records, n > 0{where}{within})", f"distinct(records, e{where}{within})",
        f"min(records, 商{where}{within})"]))


@st.composite
def across_policies(draw) -> str:
    """A policy of 1–3 values across records (outcomes o0…), some read by others, and rules reading summaries."""
    lines, earlier = [], []
    for i in range(draw(st.integers(1, 3))):
        lines.append(f"outcome o{i} = {draw(across_exprs(earlier))}")
        if not lines[-1].endswith(")") or "percent_rank" in lines[-1] or "sum(records, m" in lines[-1] \
                or "max(records, m" in lines[-1] or "商" in lines[-1].split("=", 1)[1].split("(")[0]:
            continue
        if any(f in lines[-1] for f in ("= rank(", "= apportion(", "= grant(", "= count(")):
            earlier.append(f"o{i} desc")
    reads = draw(st.sampled_from(["", "outcome 合: int = 总 + n", "outcome 低于: bool = n < 最小",
                                  "outcome 份: decimal = w / 总"]))
    return ACROSS_SCHEMA + "\n".join(lines + [reads]) + "\n"


across_records = st.lists(st.tuples(st.integers(-1, 3), st.integers(-1, 5), st.sampled_from(["0", "1.50", "2", "10.25"]),
                                    st.sampled_from(["a", "b", "c"]), st.sampled_from(["低", "中", "高"]), st.booleans()),
                          min_size=1, max_size=8)


def _across_row(policy, records: list[tuple[str, dict]]) -> list[tuple[str | None, dict | None]]:
    """The row engine's reference: every record's error, or its field and node values."""
    engine = Engine(policy)
    context = engine.context([v for _, v in records], EFFECTIVE)
    out = []
    for position, (_, values) in enumerate(records):
        if position in context.errors:
            out.append((context.errors[position], None))
        else:
            out.append((None, engine.all_values(values, EFFECTIVE, context.known[position])))
    return out, context.summaries


def _across_records(cells) -> list[tuple[str, dict]]:
    order = list(range(len(cells)))
    order.reverse()  # keys in the opposite order to positions: ties fall to the key, not the position
    return [(f"r{order[i]}", {"k": f"r{order[i]}", "n": n, "w": w, "m": Decimal(m), "g": g, "e": e, "ok": ok})
            for i, (n, w, m, g, e, ok) in enumerate(cells)]


def _check_across(folder: Path, text: str, cells, dialect: str = "duckdb") -> None:
    if dialect == "spark" and "dhondt" in text:
        reject()  # refused on Spark (tests/test_engine_spark.py)
    (folder / "p.policy").write_text(text, encoding="utf-8")
    policy = api.load_policy(str(folder / "p.policy"))
    records = _across_records(cells)
    row, _ = _across_row(policy, records)
    sql = [(r.error, r.values if r.ok else None) for r in evaluate_records(policy, records, EFFECTIVE, dialect)]
    names = list(policy.nodes)
    assert [(e, v and {n: v[n] for n in names}) for e, v in sql] == \
        [(e, v and {n: v[n] for n in names}) for e, v in row], text


@_settings(120)
@given(text=across_policies(), cells=across_records)
def test_values_across_records_agree(tmp_path_factory, text, cells):
    """Every record gets the same error, or the same value of every node, from both engines."""
    _check_across(tmp_path_factory.mktemp("across"), text, cells)


@pytest.mark.spark
@pytest.mark.skipif(_spark_available() is not None, reason=str(_spark_available()))
@pytest.mark.skipif(not SPARK_EXAMPLES, reason="opt-in with POLICYDSL_SPARK_EXAMPLES=N (starting Spark costs ~30 s)")
@settings(max_examples=SPARK_EXAMPLES or 1, deadline=None, derandomize=not FUZZ, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], phases=[Phase.generate])
@given(text=across_policies(), cells=across_records)
def test_values_across_records_agree_on_spark(tmp_path_factory, text, cells):
    """The same on Spark SQL, a few examples (each costs seconds)."""
    _check_across(tmp_path_factory.mktemp("across"), text, cells, dialect="spark")


@_settings(40)
@given(text=across_policies(), cells=across_records, spaced=st.lists(st.booleans(), min_size=8, max_size=8))
def test_files_across_records_agree(tmp_path_factory, text, cells, spaced):
    """Through files: the same results bytes, failures and summaries; cells in a non-canonical form (suspects,
    converted in Python) take part in the same ranks and totals as the others."""
    folder = tmp_path_factory.mktemp("across")
    (folder / "p.policy").write_text(text, encoding="utf-8")
    policy = api.load_policy(str(folder / "p.policy"))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["k", "n", "w", "m", "g", "e", "ok"])
    for (record_id, v), odd in zip(_across_records(cells), spaced):
        writer.writerow([record_id, f" {v['n']}" if odd else v["n"], v["w"], v["m"], v["g"], v["e"],
                         "true" if v["ok"] else "false"])
    (folder / "r.csv").write_text(buffer.getvalue(), encoding="utf-8")
    batches = {e: run_batch(policy, folder / "r.csv", out=folder / f"{e}.csv", engine=e) for e in ("row", "duckdb")}
    row, sql = batches["row"], batches["duckdb"]
    assert (folder / "duckdb.csv").read_bytes() == (folder / "row.csv").read_bytes(), text
    assert [(f.record_id, f.message) for f in sql.evaluation_failures] == \
        [(f.record_id, f.message) for f in row.evaluation_failures]
    assert sql.summaries == row.summaries
    assert sql.ok_count == row.ok_count
