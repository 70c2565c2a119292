"""Stage 5 — explain: turn one record's evaluation trace into an explanation a citizen can read.

    from policydsl import api, explain
    policy = api.load_policy("policies/longshan/eligibility.policy")
    x = explain.explain_record(policy, values, record_id="LS-001", lang="zh")   # an Explanation (frozen)
    print(explain.render(x, "text"))                                            # or "md", "html"

The model (`Explanation` → `OutcomeExplanation` → `Reason`, `Figure`, `Suggestion`) is built from the IR and the
trace; it already holds every sentence in the chosen language, so the jinja2 templates under `templates/` only lay
it out. Sentences come from, in order of preference:

* the policy author's `explain LANG "template"` on the node, table row or eligibility condition — rendered in
  jinja2's `ImmutableSandboxedEnvironment` with the record's fields, the params and every fact/outcome value in
  scope (and `value`, the node's own value). Templates are checked when an `Explainer` is built: one that reaches
  for an attribute or item starting with `_` (Python internals) or names something not in scope is refused with
  an `ExplainError` citing its position; it is never rendered.
* otherwise a sentence generated from the expression: a comparison `年龄 <= 57` reads "年龄 58 ≤ 57?否" /
  "年龄 58 ≤ 57? no", a formula is shown with its figures substituted ("星级变化 = 星级 − 上年星级 = 3 − 1 = 2").

Only what mattered is shown: the if/match branch taken, the table row chosen (for a first-hit table also the rows
above it that did not apply), the operands of `and`/`or` that decided the result, every failed eligibility
condition; and the facts those read, recursively (other outcomes are explained in their own section).

"Why not / what would change it" (`Suggestion`) is computed, never written by hand: for an outcome decided by
comparisons or matches, each input field that feeds one of them is changed alone, by the smallest step that changes
the decision (int ±1, money ±0.01, percent ±0.01%, date ±1 day, the neighbouring enum label, a flipped bool); the
smallest such change is found by an exponential probe and a bisection, and every reported change has been
re-evaluated by the engine. (The bisection assumes the decision is monotone in the field between the two probes; a
non-monotone rule can hide a smaller change, never produce a wrong one.)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import jinja2
from jinja2 import meta
from jinja2 import nodes as jnodes
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from . import ir
from .diagnostics import Diagnostic
from .engines.row import Engine, EvaluationError, Result, whole_months
from .limits import printable_lines
from .types import BOOL, DATE, DECIMAL, INT, MONEY, PERCENT, Duration, EnumType, Type

LANGS = ("zh", "en")
_MISSING = object()
FORMATS = ("text", "md", "html")
TEMPLATE_DIR = Path(__file__).parent / "templates"


class ExplainError(Exception):
    """An explanation cannot be produced (a refused or broken author template, an unknown language, …)."""


# ------------------------------------------------------------------------------------------------ formatting

class Money(Decimal):
    """A money value inside author templates: prints as ¥1,000.00 / 1,000.00 元 (arithmetic gives plain Decimal)."""


class Percent(Decimal):
    """A percent value inside author templates: prints as 60%."""


WORDS = {
    "zh": {"yes": "是", "no": "否", "met": "符合", "not_met": "不符合", "q": "?", "as_of": "评估日",
           "records": "全部记录", "and": "且", "or": "或", "not": "并非", "then": "则", "else": "否则",
           "if": "若", "in": "属于", "notin": "不属于", "sep": "、", "semi": ";", "records_n": "{n} 条记录",
           "empty": "无", "in_list": "属于", "notin_list": "不属于",
           "approx": "约 "},
    "en": {"yes": "yes", "no": "no", "met": "met", "not_met": "not met", "q": "? ", "as_of": "the evaluation date",
           "records": "all records", "and": "and", "or": "or", "not": "not", "then": "then", "else": "else",
           "if": "if", "in": "is one of", "notin": "is not one of", "sep": ", ", "semi": "; ",
           "records_n": "{n} records", "approx": "≈ ", "empty": "none", "in_list": "is in",
           "notin_list": "is not in"},
}

#: Units of int figures, guessed from the end of the name (the language has no unit on int). zh unit, en (1, many).
UNITS = (("年龄", "岁", ("", "")), ("党龄", "年", ("year", "years")), ("年限", "年", ("year", "years")),
         ("星级", "星", ("star", "stars")), ("星级变化", "星", ("star", "stars")), ("星", "星", ("star", "stars")),
         ("人数", "人", ("person", "people")),
         ("员额", "人", ("person", "people")), ("户数", "户", ("household", "households")))


def format_date(d: date, lang: str) -> str:
    return f"{d.year}年{d.month}月{d.day}日" if lang == "zh" else d.isoformat()


def format_money(value: Decimal, lang: str) -> str:
    text = f"{abs(value):,.2f}"
    sign = "-" if value < 0 else ""
    return f"{sign}{text} 元" if lang == "zh" else f"{sign}¥{text}"


def format_duration(d: Duration, lang: str) -> str:
    if lang == "zh":
        return str(d)
    parts = []
    if d.months and d.months % 12 == 0:
        parts.append(_plural(d.months // 12, "year", "years"))
    elif d.months:
        parts.append(_plural(d.months, "month", "months"))
    if d.days or not parts:
        parts.append(_plural(d.days, "day", "days"))
    return " ".join(parts)


def _plural(n, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def format_value(value: object, type_: Type | None, lang: str) -> str:
    """A value for a reader: money ¥1,000.00 / 1,000.00 元, dates 2024-01-01 / 2024年1月1日, 是/否 / yes/no."""
    w = WORDS[lang]
    if value is None:
        return "—"
    if isinstance(value, bool):
        return w["yes"] if value else w["no"]
    if (type_ == MONEY or isinstance(value, Money)) and isinstance(value, Decimal):
        return format_money(value, lang)
    if (type_ == PERCENT or isinstance(value, Percent)) and isinstance(value, Decimal):
        pct = (value * 100).normalize()
        return f"{pct:f}%"
    if isinstance(value, date):
        return format_date(value, lang)
    if isinstance(value, Duration):
        return format_duration(value, lang)
    if isinstance(value, Decimal):
        if value.as_tuple().exponent < -4 if isinstance(value.as_tuple().exponent, int) else False:
            return w["approx"] + f"{value.quantize(Decimal('0.0001')).normalize():f}"
        # a plain decimal (a score, a factor) reads without the zeros its arithmetic left: 60, not 60.000
        return f"{value.normalize():f}" if value.is_finite() else f"{value:f}"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10000 else str(value)
    if isinstance(value, (tuple, list)):
        return w["records_n"].format(n=len(value))
    if isinstance(value, dict):
        return str(next(iter(value.values()), ""))
    if value == "":
        return w["empty"]  # an empty text reads as "none", not as nothing after an arrow
    return str(value)


def unit_of(name: str, type_: Type | None, value: object, lang: str) -> str:
    if type_ != INT or not isinstance(value, int) or isinstance(value, bool):
        return ""
    for suffix, zh, (one, many) in UNITS:
        if name.endswith(suffix):
            unit = zh if lang == "zh" else (one if abs(value) == 1 else many)
            return f" {unit}" if unit else ""
    return ""


def with_unit(name: str, value: object, type_: Type | None, lang: str) -> str:
    return format_value(value, type_, lang) + unit_of(name, type_, value, lang)


# ------------------------------------------------------------------------------------------------ the model

@dataclass(frozen=True)
class Figure:
    """A parameter an explanation used: its value, the date it is in force from, its citation or assumption."""

    name: str
    value: str
    effective: str | None
    sources: tuple[str, ...]
    assumed: str | None


@dataclass(frozen=True)
class Reason:
    """One sentence of the chain of reasons. kind: formula | branch | row | skipped-row | fail | pass | summary."""

    text: str
    kind: str
    node: str
    depth: int = 0
    sources: tuple[str, ...] = ()
    assumed: str | None = None
    passed: bool | None = None


@dataclass(frozen=True)
class Suggestion:
    """A single input change, re-evaluated, that would change the decision."""

    field: str
    old: str
    new: str
    change: str        # "2 more", "1 day later", "" for enums and bools
    effect: str        # the sentence's consequence part
    text: str          # the whole sentence


@dataclass(frozen=True)
class OutcomeExplanation:
    name: str
    kind: str
    type: str
    value: object
    value_text: str
    headline: str
    author: bool                      # the headline comes from the author's template
    reasons: tuple[Reason, ...]
    figures: tuple[Figure, ...]
    sources: tuple[str, ...]
    assumed: str | None
    suggestions: tuple[Suggestion, ...]


@dataclass(frozen=True)
class Explanation:
    """Everything a reader is told about one record, in one language."""

    lang: str
    policy_name: str
    policy_title: str | None
    policy_source: str | None
    policy_path: str
    record_id: str
    record_label: str | None
    as_of: str
    inputs: tuple[tuple[str, str], ...]
    outcomes: tuple[OutcomeExplanation, ...]
    figures: tuple[Figure, ...]
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


# ------------------------------------------------------------------------------------------------ author templates

#: Characters an author template may produce for one sentence, and the largest number a filter may be given.
MAX_TEMPLATE_CHARS = 20_000
MAX_FILTER_NUMBER = 1_000


class _LimitedSandbox(ImmutableSandboxedEnvironment):
    """The sandbox with bounds: no string or list repeated beyond the output limit, no huge powers, no filter
    asked for a billion columns — each of which took gigabytes or hung. (`*` and `**` being intercepted also stops
    jinja2 from folding `10**(10**10)` while compiling.)"""

    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context, operator: str, left, right):
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(times, int) and \
                        len(seq) * times > MAX_TEMPLATE_CHARS:
                    raise SecurityError(f"the result would be longer than {MAX_TEMPLATE_CHARS:,} characters")
        if operator == "**" and isinstance(right, (int, float)) and (abs(right) > 64 or (
                isinstance(left, (int, float)) and abs(left) > 10 ** 6)):
            raise SecurityError("the power is too large for an explanation")
        return super().call_binop(context, operator, left, right)


def _bounded_filter(name: str, fn):
    """A filter whose numeric arguments (widths, counts) are at most MAX_FILTER_NUMBER."""
    def call(*args, **kwargs):
        skip = 2 if hasattr(fn, "jinja_pass_arg") else 1  # the environment or context, then the value filtered
        numbers = [a for a in list(args[skip:]) + list(kwargs.values()) if isinstance(a, int) and not isinstance(a, bool)]
        if any(abs(n) > MAX_FILTER_NUMBER for n in numbers):
            raise SecurityError(f"filter '{name}' given a number above {MAX_FILTER_NUMBER:,}")
        return fn(*args, **kwargs)
    for attr in ("jinja_pass_arg",):  # keep jinja2's pass_context / pass_environment marks
        if hasattr(fn, attr):
            setattr(call, attr, getattr(fn, attr))
    return call


def _shown(x, lang: str):
    """A value as a template prints it; a function or method is not a value (it would print its address)."""
    if callable(x):
        raise SecurityError("a template may show values, not functions or methods")
    return format_value(x, None, lang)


def _author_env(lang: str) -> ImmutableSandboxedEnvironment:
    env = _LimitedSandbox(undefined=jinja2.StrictUndefined, autoescape=False, finalize=lambda x: _shown(x, lang))
    env.globals.clear()  # no range/lipsum/cycler/…: a template sees the policy's values and the filters only
    env.filters = {name: _bounded_filter(name, fn) for name, fn in env.filters.items()}
    return env


def _render_bounded(template: jinja2.Template, scope: dict) -> str:
    """The template's text, stopped (SecurityError) once it passes MAX_TEMPLATE_CHARS."""
    parts, size = [], 0
    for piece in template.generate(scope):
        size += len(piece)
        if size > MAX_TEMPLATE_CHARS:
            raise SecurityError(f"the text would be longer than {MAX_TEMPLATE_CHARS:,} characters")
        parts.append(piece)
    return "".join(parts)


def _unsafe_parts(tree: jnodes.Template) -> list[str]:
    bad = []
    for node in tree.find_all((jnodes.Getattr, jnodes.Getitem, jnodes.Name)):
        name = getattr(node, "attr", None) or getattr(node, "name", None)
        if isinstance(node, jnodes.Getitem) and isinstance(node.arg, jnodes.Const):
            name = node.arg.value
        if isinstance(name, str) and name.startswith("_"):
            bad.append(name)
    return bad


def _annotated(policy: ir.Policy) -> Iterable[tuple[str, object]]:
    """(where, notes) of everything that may carry an `explain`."""
    for node in policy.nodes.values():
        yield node.name, node.notes
        if isinstance(node.body, ir.TableBody):
            for row in node.body.rows:
                yield f"{node.name} row {row.number}", row.notes
        if isinstance(node.body, ir.EligibilityBody):
            for cond in node.body.conditions:
                yield f"{node.name}.{cond.name}", cond.notes


def _template_problem(policy: ir.Policy, env, ex, where: str) -> str | None:
    """Why an author template is refused (it does not parse, reaches for internals, names an unknown value)."""
    scope = set(policy.params) | set(policy.subject.field_names) | set(policy.nodes) | {"value", "as_of"}
    try:
        tree = env.parse(ex.template)
    except TemplateError as exc:
        return f"explain template of {where} does not parse: {exc}"
    bad = _unsafe_parts(tree)
    if bad:
        return (f"explain template of {where} refused: it reaches for Python internals ('{bad[0]}'); a template "
                "may only use the policy's values")
    unknown = sorted(meta.find_undeclared_variables(tree) - scope)
    if unknown:
        return (f"explain template of {where} uses '{unknown[0]}', which is not a field, param, fact or outcome "
                "of this policy")
    excess = _excess(tree)
    return f"explain template of {where} refused: {excess}" if excess else None


def _excess(tree: jnodes.Template) -> str | None:
    """What in a template could only exhaust memory or the stack: a huge number, a power, recursion."""
    for node in tree.find_all((jnodes.Const, jnodes.Pow, jnodes.Macro, jnodes.For)):
        if isinstance(node, jnodes.Const) and isinstance(node.value, int) and abs(node.value) > MAX_TEMPLATE_CHARS:
            return f"the number {node.value:,} is larger than a template may use ({MAX_TEMPLATE_CHARS:,})"
        if isinstance(node, jnodes.Pow):
            return "'**' (a power) is not needed in an explanation"
        if isinstance(node, jnodes.For) and node.recursive:
            return "a recursive loop is not needed in an explanation"
        if isinstance(node, jnodes.Macro) and any(isinstance(c.node, jnodes.Name) and c.node.name == node.name
                                                  for c in node.find_all(jnodes.Call)):
            return f"macro '{node.name}' calls itself"
    return None


def template_diagnostics(policy: ir.Policy) -> list[Diagnostic]:
    """Every author template `explain` would refuse, as check errors at the template's place."""
    env = _author_env("zh")
    found = []
    for where, notes in _annotated(policy):
        for ex in notes.explains:
            problem = _template_problem(policy, env, ex, where)
            if problem is not None:
                found.append(Diagnostic(ex.span, problem, "a template may use the policy's values, filters, "
                                                          "if and for; nothing else"))
    return found


# ------------------------------------------------------------------------------------------------ the builder

class Explainer:
    """Builds explanations for one policy (compile once, explain many records). Author templates are checked here."""

    def __init__(self, policy: ir.Policy, engine: Engine | None = None, lang: str = "zh", why_not: bool = True):
        if lang not in LANGS:
            raise ExplainError(f"unknown language '{lang}': choose one of {', '.join(LANGS)}")
        self.policy = policy
        self.engine = engine or Engine(policy)
        self.lang = lang
        self.w = WORDS[lang]
        self.why_not = why_not
        self.env = _author_env(lang)
        self._fns: dict[int, Callable] = {}
        self._templates: dict[int, tuple[jinja2.Template, object]] = {}
        self._decision_fields: dict[str, tuple[str, ...]] = {}
        self._cone: dict[str, frozenset[str]] = {}
        self._downstream: dict[str, tuple] = {}
        self._decides: dict[str, bool] = {}
        self._bounds: dict = {}
        self._uses: list | None = None
        self._check_templates()

    # -------------------------------------------------------------------------------------------- templates

    def _check_templates(self) -> None:
        problems = []
        for where, notes in _annotated(self.policy):
            for ex in notes.explains:
                problem = _template_problem(self.policy, self.env, ex, where)
                if problem is not None:
                    problems.append(f"{ex.span}: {problem}")
                elif ex.lang == self.lang:
                    self._templates[id(notes)] = (self.env.from_string(ex.template), ex)
        if problems:
            raise ExplainError("\n".join(problems))

    def _author(self, notes, scope: dict) -> str | None:
        found = self._templates.get(id(notes))
        if found is None:
            return None
        template, ex = found
        try:
            return _render_bounded(template, scope).strip()
        except SecurityError as exc:
            raise ExplainError(f"{ex.span}: explain template refused: {exc}") from None
        except RecursionError:
            raise ExplainError(f"{ex.span}: explain template refused: it calls itself too deeply (a recursive "
                               "macro or loop)") from None
        except (TemplateError, ArithmeticError, TypeError, ValueError, OverflowError, MemoryError) as exc:
            raise ExplainError(f"{ex.span}: explain template failed: {exc}") from None

    # -------------------------------------------------------------------------------------------- entry points
    def explain(self, result: Result, values: dict | None = None) -> Explanation:
        """The explanation of one evaluated record (`result` must carry a trace unless it failed)."""
        p = self.policy
        label = self._label(values, result)
        if not result.ok:
            return Explanation(self.lang, p.name, p.title, p.source, p.path, result.record_id, label, "", (), (), (),
                               result.error)
        if result.trace is None:
            raise ExplainError("the result has no trace: evaluate with trace=True")
        trace = result.trace
        self._trace = trace
        self._runs: dict = {}  # (field, new value) → values of the record changed so (shared by all outcomes)
        self._ladders: dict = {}  # (field, direction) → the exponential probe of that field (shared likewise)
        self._said: dict = {}  # (field, new value) → the words for that change
        values = self._inputs(values, trace)
        v = self._value_list(values, trace)
        self._v = v
        self._live_memo: dict[str, frozenset[str]] = {}
        scope = self._scope(values, trace)
        outcomes = []
        all_figures: dict[str, Figure] = {}
        for node in p.outcomes:
            out = self._outcome(node, trace, v, scope, values)
            outcomes.append(out)
            for f in out.figures:
                all_figures.setdefault(f.name, f)
        inputs = tuple((n, self._input_text(n, t, values.get(n))) for n, t in p.subject.fields if n in values)
        return Explanation(self.lang, p.name, p.title, p.source, p.path, result.record_id, label,
                           format_date(trace.as_of, self.lang), inputs, tuple(outcomes),
                           tuple(sorted(all_figures.values(), key=lambda f: list(p.params).index(f.name))))

    def among(self, records: list[tuple[str, dict]], as_of: date | None = None) -> None:
        """The records a policy that compares records with each other explains each record among (a rank, a share
        of a total): their values across records are computed once, here. Other policies need nothing."""
        if not self.engine.cross:
            return
        context = self.engine.context([values for _, values in records], as_of)
        self._context = {record_id: (position, context) for position, (record_id, _) in enumerate(records)}

    def explain_values(self, values: dict, record_id: str = "", as_of: date | None = None) -> Explanation:
        known = figures = None
        if self.engine.cross and record_id in getattr(self, "_context", {}):
            position, context = self._context[record_id]
            if position in context.errors:
                return self.explain(Result(record_id, {}, error=context.errors[position]), values)
            known, figures = context.known[position], context.figures[position]
        return self.explain(self.engine.evaluate(values, as_of, trace=True, record_id=record_id, known=known,
                                                 figures=figures), values)

    # -------------------------------------------------------------------------------------------- record state
    def _label(self, values, result) -> str | None:
        source = values or {}
        if not source and result.trace:
            source = {n: val for s in result.trace.steps.values() for n, val in s.inputs}
        for name in ("姓名", "名称", "name", "title"):
            if isinstance(source.get(name), str) and source.get(name):
                return source[name]
        return None

    def _inputs(self, values: dict | None, trace) -> dict:
        """The record's field values; without them, the fields the trace shows were read."""
        if values is not None:
            return dict(values)
        fields = set(self.policy.subject.field_names)
        found = dict.fromkeys(fields)
        for step in trace.steps.values():
            for n, val in step.inputs:
                if n in fields:
                    found[n] = val
            for c in step.conditions:
                for n, val in c.inputs:
                    if n in fields:
                        found[n] = val
        return found

    def _value_list(self, values: dict, trace) -> list:
        e = self.engine
        base, _ = e._base(trace.as_of)
        v = base.copy()
        for slot, name in e.field_slots:
            v[slot] = values.get(name)
        for name, step in trace.steps.items():
            v[e.slots[name]] = step.value
        for name, value in trace.shared.items():
            v[e.slots[name]] = value
        return v

    def _scope(self, values: dict, trace) -> dict:
        scope = {}
        for name, pv in trace.params.items():
            scope[name] = _wrap(pv.value, self.policy.params[name].type)
        for name, t in self.policy.subject.fields:
            scope[name] = _wrap(values.get(name), t)
        for name, step in trace.steps.items():
            scope[name] = _wrap(step.value, step.type)
        scope["as_of"] = trace.as_of
        return scope

    def _input_text(self, name: str, t, value) -> str:
        if value is None and name in self.policy.subject.optional:
            return "无记录" if self.lang == "zh" else "not recorded"
        return format_value(value, t, self.lang) + unit_of(name, t, value, self.lang)

    def _maybe(self, x: ir.IExpr, v: list) -> bool | None:
        """A condition's truth, or None when it reads an optional value the record does not have."""
        try:
            return bool(self._eval(x, v))
        except (TypeError, AttributeError):
            return None

    def _eval(self, x: ir.IExpr, v: list):
        fn = self._fns.get(id(x))
        if fn is None:
            fn = self._fns[id(x)] = self.engine._compile(x, False)
        return fn(v, None)

    # -------------------------------------------------------------------------------------------- one outcome
    def _outcome(self, node: ir.Node, trace, v: list, scope: dict, values: dict) -> OutcomeExplanation:
        lang, w = self.lang, self.w
        step = trace.steps[node.name]
        used_params: list[str] = []
        reasons: list[Reason] = []
        seen = {node.name}

        def walk(name: str, depth: int) -> None:
            lines, refs = self._node_reasons(self.policy.nodes[name], trace.steps[name], v, scope, depth,
                                             used_params, name != node.name)
            for line in lines:
                if isinstance(line, _Expand):
                    for r in line.names:
                        if r not in seen and r in self.policy.nodes and not self.policy.nodes[r].is_outcome:
                            seen.add(r)
                            walk(r, depth + 1)
                else:
                    reasons.append(line)
            for r in refs:
                if r not in seen and r in self.policy.nodes and not self.policy.nodes[r].is_outcome:
                    seen.add(r)
                    walk(r, depth + 1)
        walk(node.name, 0)
        if node.kind == "eligibility":
            value_text = w["met"] if step.value else w["not_met"]
        else:
            value_text = with_unit(node.name, step.value, node.type, lang)
        author = self._author(node.notes, {**scope, "value": scope.get(node.name)})
        headline = author or self._headline(node, step, value_text)
        figures = tuple(self._figure(p, trace) for p in dict.fromkeys(used_params))
        suggestions = self._suggestions(node, step, v, values, trace.as_of) if self.why_not else ()
        assumed = node.notes.assumed.text if node.notes.assumed else None
        return OutcomeExplanation(node.name, node.kind, str(node.type), step.value, value_text, headline,
                                  author is not None, tuple(reasons), figures, node.notes.sources, assumed,
                                  suggestions)

    def _headline(self, node: ir.Node, step, value_text: str) -> str:
        if node.kind == "eligibility":
            failed = [c for c in step.conditions if not c.passed]
            if self.lang == "zh":
                return (f"{node.name}:{value_text}" if not failed else
                        f"{node.name}:{value_text}({len(failed)} 项条件未满足)")
            return (f"{node.name}: {value_text}" if not failed else
                    f"{node.name}: {value_text} ({_plural(len(failed), 'condition', 'conditions')} failed)")
        return f"{node.name} = {value_text}" if self.lang == "en" else f"{node.name}:{value_text}"

    def _figure(self, name: str, trace) -> Figure:
        pv = trace.params[name]
        param = self.policy.params[name]
        effective = format_date(pv.start, self.lang) if pv.start else None
        return Figure(name, with_unit(name, pv.value, param.type, self.lang), effective, pv.notes.sources,
                      pv.notes.assumed.text if pv.notes.assumed else None)

    def _condition_reason(self, c: ir.Cond, status: str, owner: str, depth: int, scope, v, track) -> "Reason":
        """One eligibility condition as a reason line: the author's template, or a generated sentence."""
        text = self._author(c.notes, scope) or self._cond(c.expr, v, track)
        label = f"{c.name}:{text}" if self.lang == "zh" else f"{c.name}: {text}"
        return Reason(label, status, owner, depth, c.notes.sources,
                      c.notes.assumed.text if c.notes.assumed else None, status == "pass")

    def _node_reasons(self, node: ir.Node, step, v, scope, depth, used, is_dependency) -> tuple[list[Reason], list]:
        """The sentences for one node and the nodes they read (to explain next)."""
        refs: list[str] = []
        out: list[Reason] = []
        track = _Tracker(used, refs)
        src, assumed = node.notes.sources, (node.notes.assumed.text if node.notes.assumed else None)
        if isinstance(node.body, ir.EligibilityBody):
            failed = [c for c, r in zip(node.body.conditions, step.conditions) if not r.passed]
            passed = [c for c, r in zip(node.body.conditions, step.conditions) if r.passed]
            for c in failed:
                out.append(self._condition_reason(c, "fail", node.name, depth, scope, v, track))
                out.append(_Expand(tuple(refs)))
            if failed and passed:
                names = self.w["sep"].join(c.name for c in passed)
                text = (f"其余 {len(passed)} 项条件均满足:{names}" if self.lang == "zh" else
                        f"the other {_plural(len(passed), 'condition holds', 'conditions hold')}: {names}")
                out.append(Reason(text, "summary", node.name, depth, (), None, True))
            elif not failed:
                for c in passed:
                    out.append(self._condition_reason(c, "pass", node.name, depth, scope, v, track))
                    out.append(_Expand(tuple(refs)))
            return out, refs
        author = self._author(node.notes, {**scope, "value": scope.get(node.name)}) if is_dependency else None
        if isinstance(node.body, ir.TableBody):
            rows = node.body.rows
            self._has_exceptions = any(r.label is not None for r in rows)
            chosen = next(r for r in rows if r.number == step.row)
            shown = [r for r in rows if r.number < chosen.number and r.condition is not None]
            if node.body.hit == "unique" and chosen.condition is not None:
                shown = []
            prefix = (f"{node.name} " if self.lang == "zh" else f"{node.name}, ") if is_dependency else ""
            for r in shown:
                text = self._author(r.notes, scope) or self._cond(r.condition, v, track)
                out.append(Reason(prefix + self._row_text(r, text, None), "skipped-row", node.name, depth, (), None,
                                  False))
            if chosen.condition is None:
                text = "其余情形" if self.lang == "zh" else "otherwise"
            else:
                text = self._cond(chosen.condition, v, track)
            text = self._author(chosen.notes, scope) or text
            value = with_unit(node.name, step.value, node.type, self.lang)
            if isinstance(chosen.value, ir.Ref):  # a param or a fact: name it (a param's source is listed below)
                track(chosen.value)
                value = f"{chosen.value.name}({value})" if self.lang == "zh" else f"{chosen.value.name} ({value})"
            elif not isinstance(chosen.value, ir.Const):
                value = f"{self._subst(chosen.value, v, track)} = {value}"
            row_src = chosen.notes.sources or (src if is_dependency else ())
            row_assumed = (chosen.notes.assumed.text if chosen.notes.assumed else None) or \
                (assumed if is_dependency else None)
            out.append(Reason(prefix + self._row_text(chosen, text, value), "row", node.name, depth, row_src,
                              row_assumed, True))
            for note in track.branches:
                out.append(Reason(note, "branch", node.name, depth + 1))
            track.branches.clear()
            if author:
                out.append(Reason(author, "formula", node.name, depth))
            return out, refs
        # a plain fact/outcome: the branches taken, then the formula of the branch taken with its figures
        own = () if not is_dependency else src
        own_assumed = None if not is_dependency else assumed
        prefix = (f"{node.name}:" if self.lang == "zh" else f"{node.name}: ") if is_dependency else ""
        expr = node.body
        while True:
            if isinstance(expr, ir.If):
                holds = bool(self._eval(expr.cond, v))
                cond = self._cond(expr.cond, v, track)
                branch = expr.then if holds else expr.otherwise
                out.append(Reason(prefix + f"{cond}{self._branch_value(branch, v, node, track)}", "branch",
                                  node.name, depth, (), None, holds))
                expr = branch
            elif isinstance(expr, ir.Match):
                label = self._eval(expr.subject, v)
                branch = next((val for labels, val in expr.arms if label in labels), expr.default)
                subject = self._side(expr.subject, v, track)
                arrow = self._branch_value(branch, v, node, track)
                if branch is expr.default and expr.default is not None:
                    subject += "(其他情形)" if self.lang == "zh" else " (any other)"
                out.append(Reason(prefix + subject + arrow, "branch", node.name, depth))
                expr = branch
            else:
                break
        value = with_unit(node.name, step.value, node.type, self.lang)
        if author:
            out.append(Reason(author, "formula", node.name, depth))
        elif isinstance(expr, ir.Across):
            out.append(Reason(prefix + self._across_sentence(expr, v, track), "formula", node.name, depth))
        elif node.type == BOOL and _is_condition(expr):
            out.append(Reason(prefix + self._cond(expr, v, track), "formula", node.name, depth))
        elif not out or not isinstance(expr, (ir.Const, ir.Ref)):
            out.append(Reason(self._formula(node.name, expr, v, step.value, node.type, track), "formula",
                              node.name, depth))
        for note in track.branches:
            out.append(Reason(note, "branch", node.name, depth + 1))
        track.branches.clear()
        last = out[-1]
        out[-1] = Reason(last.text, last.kind, last.node, last.depth, own, own_assumed, last.passed)
        return out, refs

    def _across_sentence(self, a: ir.Across, v, track) -> str:
        """How a value across records came about, with the figures a reader needs: their own place, the group
        and its size, the line, the tie rule; a share shows the part and the whole."""
        from .engines.across import Figures
        figures: Figures = self._trace.across.get(a.index) or Figures(a.func, None, ())
        zh, f = self.lang == "zh", figures.get
        for part in (*a.parts(), *((a.amount,) if a.amount is not None else ())):
            for x in ir.walk(part):
                if isinstance(x, ir.Ref):
                    track(x)
        noun = self.policy.subject.name
        size = f("size")
        where = ""
        if a.within is not None:
            group = format_value(figures.group, a.within.type, self.lang)
            where = f"{self._text(a.within)}为「{group}」的" if zh else f" with {self._text(a.within)} {group}"
        whole = (f"{where or '全部'} {size} 个{noun}中" if zh else f"of the {size} {noun}{where}")
        keys = self.w["sep"].join(self._text(k.expr) + (("(从高到低)" if zh else " (highest first)") if k.descending
                                                        else ("(从低到高)" if zh else " (lowest first)"))
                                  for k in a.order)
        by = (f"按{keys}排序," if zh else f"ordered by {keys}, ") if a.order else ""
        ties = _TIES_WORDS[self.lang].get(a.ties, "")
        value = f("value")
        if a.func in ("rank", "percent_rank", "top", "bottom"):
            rank = f("rank")
            text = (f"{by}在{whole}排第 {rank} 名" if zh else f"{by}number {rank} {whole}")
            if a.func == "percent_rank":
                text += (f",百分位排名 {format_value(value, a.type, self.lang)}" if zh else
                         f": percent rank {format_value(value, a.type, self.lang)}")
            if a.func in ("top", "bottom"):
                count, place = f("count"), f("place")
                amount = format_value(self._eval(a.amount, v), a.amount.type, self.lang)
                rounding = _ROUNDING_WORDS[self.lang].get(a.rounding, "") if a.amount.type == PERCENT else ""
                share = (f"{amount}{rounding}即 {count} 名" if zh else f"{amount}{rounding}, that is {count},")
                if a.amount.type != PERCENT:
                    share = f"{count} 名" if zh else f"{count}"
                yes = ("在内" if value else "不在内") if zh else ("inside" if value else "outside")
                if a.func == "top":
                    text += (f";取前 {share},本记录{yes}" if zh else f"; the top {share} are taken: {yes}")
                else:
                    text += (f",即倒数第 {place} 名;取末 {share},本记录{yes}" if zh else
                             f", number {place} from the end; the bottom {share} are taken: {yes}")
            return text + ((f"({ties})" if zh else f" ({ties})") if ties else "")
        def n(x) -> str:
            return format_value(x, INT, self.lang) if x is not None else "—"
        if a.func == "apportion":
            total, weights, weight = n(f("total")), n(f("weights")), n(f("weight"))
            quota = f("quota")
            method = _METHOD_WORDS[self.lang][a.method]
            shown = format_value(quota, a.type if quota is None else DECIMAL, self.lang) if quota is not None else "—"
            return (f"{where or '全部'} {total} 个名额按{self._text(a.value)}分配({method}):"
                    f"{weight} ÷ {weights} × {total} = {shown},分得 {value} 个;各份相加正好等于 {total}"
                    if zh else
                    f"{total} places shared{where} in proportion to {self._text(a.value)} ({method}): "
                    f"{weight} ÷ {weights} × {total} = {shown}, so {value}; the parts add up to {total} exactly")
        if a.func == "grant":
            total, request, before = n(f("total")), n(f("request")), n(f("before"))
            method = _METHOD_WORDS[self.lang][a.method]
            return (f"{where}{total} 个名额{by}依次分配({method}):本记录申请 {request} 个,轮到时尚余 {before} 个,"
                    f"批给 {value} 个" if zh else
                    f"a pool of {total}{where} {by}served in turn ({method}): this record asked for {request}, "
                    f"{before} were left when its turn came, it was granted {value}")
        shown = format_value(value, a.type, self.lang)
        what = self._text(a.value) if a.value is not None else ""
        cond = f",{self._text(a.where)}" if a.where is not None and zh else (
            f" where {self._text(a.where)}" if a.where is not None else "")
        words = _AGGREGATE_WORDS[self.lang][a.func]
        return (f"{where or '全部'}{noun}{cond}{what}的{words}:{shown}" if zh else
                f"{words} {what} over the {noun}{where}{cond}: {shown}")

    def _row_text(self, row: ir.Row, cond_text: str, result: str | None) -> str:
        head = f"第 {row.number} 行:" if self.lang == "zh" else f"row {row.number}: "
        if row.label is not None:
            head = f"例外「{row.label}」:" if self.lang == "zh" else f"exception “{row.label}”: "
        elif row.condition is None and self._has_exceptions:
            head, cond_text = ("未适用任何例外,按一般规定", "") if self.lang == "zh" else \
                ("no exception applies, so the general rule", "")
        if result is None:
            tail = "(不适用)" if self.lang == "zh" else " (does not apply)"
            return head + cond_text + tail
        return head + cond_text + " → " + result

    def _branch_value(self, branch: ir.IExpr, v, node: ir.Node, track) -> str:
        """The arrow after a branch condition: the value it gives, or "so:" when a formula follows."""
        if isinstance(branch, (ir.If, ir.Match)) or not isinstance(branch, (ir.Const, ir.Ref)):
            if node.type == BOOL and _is_condition(branch):
                return ""
            return ",按下式计算" if self.lang == "zh" else ", so:"
        value = self._eval(branch, v)
        shown = with_unit(node.name, value, branch.type, self.lang) if node.type == branch.type else \
            format_value(value, branch.type, self.lang)
        if isinstance(branch, ir.Const):
            return f" → {shown}"
        track(branch)
        return f" → {branch.name}({shown})" if self.lang == "zh" else f" → {branch.name} ({shown})"

    def _formula(self, name: str, expr: ir.IExpr, v, value, type_, track) -> str:
        text = self._text(expr)
        subst = self._subst(expr, v, track)
        if isinstance(expr, ir.Builtin) and expr.func in ("years_between", "months_between", "days_between"):
            text = subst
        parts = [name, text]
        if subst != text:
            parts.append(subst)
        if format_value(value, type_, self.lang) != subst:
            parts.append(with_unit(name, value, type_, self.lang))
        elif unit_of(name, type_, value, self.lang):
            parts[-1] += unit_of(name, type_, value, self.lang)
        return " = ".join(parts)

    # -------------------------------------------------------------------------------------------- sentences
    def _cond(self, x: ir.IExpr, v, track) -> str:
        """A condition as a question with its answer: "年龄 58 ≤ 57?否" / "年龄 58 ≤ 57? no"."""
        w = self.w
        if isinstance(x, ir.BinaryOp) and x.op in ("and", "or"):
            parts = _flatten(x, x.op)
            results = [self._maybe(p, v) for p in parts]
            # a part an earlier one guards (`present(x) and x > …`) is not evaluated when the guard fails
            parts, results = [p for p, r in zip(parts, results) if r is not None], [r for r in results if r is not None]
            total = all(results) if x.op == "and" else any(results)
            if x.op == "or" and total:
                keep = [next(p for p, r in zip(parts, results) if r)]
            elif x.op == "and" and not total:
                keep = [p for p, r in zip(parts, results) if not r]
            else:
                keep = parts
            guards = [p for p in keep if _guard_field(p)] if x.op == "or" and not total else []
            rest = [p for p in keep if p not in guards]
            text = w["semi"].join(self._cond(p, v, track) for p in rest)
            if guards and rest:
                scope = w["sep"].join(f"{g.left.name} {'为' if self.lang == 'zh' else 'is'} "
                                      f"{format_value(self._eval(g.left, v), g.left.type, self.lang)}"
                                      for g in guards)
                return f"{scope},故须:{text}" if self.lang == "zh" else f"{scope}, so: {text}"
            return text
        value = bool(self._eval(x, v))
        answer = w["q"] + (w["yes"] if value else w["no"])
        if isinstance(x, ir.BinaryOp) and x.op in ("eq", "ne", "lt", "le", "gt", "ge"):
            return f"{self._side(x.left, v, track)} {SYMBOLS[x.op]} {self._side(x.right, v, track)}{answer}"
        if isinstance(x, ir.BinaryOp) and x.op in ("in", "notin"):
            if isinstance(x.right, ir.ListItems):
                pool = w["sep"].join(self._side(i, v, track) for i in x.right.items)
                return f"{self._side(x.left, v, track)} {w[x.op]} {pool}{answer}"
            return f"{self._side(x.left, v, track)} {w[x.op + '_list']} {x.right.name}{answer}"
        if isinstance(x, ir.UnaryOp) and x.op == "not":
            inner = bool(self._eval(x.operand, v))
            if isinstance(x.operand, ir.Ref):
                track(x.operand)
                need = w["no"]
                if self.lang == "zh":
                    return f"{x.operand.name}?{w['yes'] if inner else w['no']}(须为“{need}”)"
                return f"{x.operand.name}? {w['yes'] if inner else w['no']} (must be {need})"
            return f"{w['not']} ({self._cond(x.operand, v, track)})"
        if isinstance(x, ir.Ref):
            track(x)
            return f"{x.name}{answer}"
        self._subst(x, v, track)
        return f"{self._text(x)}{answer}"

    def _side(self, x: ir.IExpr, v, track) -> str:
        """An operand of a comparison: a constant as itself, a name with its value, else the expression (value)."""
        if isinstance(x, ir.Const):
            return format_value(x.value, x.type, self.lang)
        value = format_value(self._eval(x, v), x.type, self.lang)
        if isinstance(x, ir.AsOf):
            return f"{self.w['as_of']} {value}"
        if isinstance(x, ir.Ref):
            track(x)
            return f"{x.name} {value}"
        self._subst(x, v, track)
        return f"{self._text(x)}({value})" if self.lang == "zh" else f"{self._text(x)} ({value})"

    def _subst(self, x: ir.IExpr, v, track, top: bool = True) -> str:
        """The expression with every name replaced by its value (if/match/aggregates by their result)."""
        if isinstance(x, ir.Const):
            return format_value(x.value, x.type, self.lang)
        if isinstance(x, ir.Ref):
            track(x)
            return format_value(self._eval(x, v), x.type, self.lang)
        if isinstance(x, ir.BinaryOp) and x.op in ARITH:
            left = self._subst(x.left, v, track, False)
            right = self._subst(x.right, v, track, False)
            text = f"{_paren(x.left, x.op, left, False)} {SYMBOLS[x.op]} {_paren(x.right, x.op, right, True)}"
            return text
        if isinstance(x, ir.UnaryOp) and x.op == "neg":
            return "−" + self._subst(x.operand, v, track, False)
        if isinstance(x, ir.Builtin) and x.func in ("min", "max", "clamp", "abs", "round", "floor", "ceil"):
            args = x.args if x.func != "round" else x.args[:1]
            return f"{x.func}({', '.join(self._subst(a, v, track, False) for a in args)})"
        if isinstance(x, ir.Builtin) and x.func in ("years_between", "months_between", "days_between"):
            a, b = (self._side(arg, v, track) for arg in x.args)
            return self._text(x, (a, b))
        if isinstance(x, ir.If):
            holds = bool(self._eval(x.cond, v))
            branch = x.then if holds else x.otherwise
            shown = self._subst(branch, v, track, False)
            track.branches.append(f"{self._cond(x.cond, v, track)} → {shown}")
            return shown
        if isinstance(x, ir.Match):
            label = self._eval(x.subject, v)
            branch = next((val for labels, val in x.arms if label in labels), x.default)
            shown = self._subst(branch, v, track, False)
            track.branches.append(f"{self._side(x.subject, v, track)} → {shown}")
            return shown
        for ref in _refs(x):
            track(ref)
        return format_value(self._eval(x, v), x.type, self.lang)

    def _text(self, x: ir.IExpr, shown_args: tuple[str, str] | None = None) -> str:
        """The expression in words and symbols, without values."""
        w, zh = self.w, self.lang == "zh"
        if isinstance(x, ir.Const):
            return format_value(x.value, x.type, self.lang)
        if isinstance(x, (ir.Ref, ir.ElemRef)):
            return x.name
        if isinstance(x, ir.AsOf):
            return w["as_of"]
        if isinstance(x, ir.RecordsRef):
            return w["records"]
        if isinstance(x, ir.UnaryOp):
            return ("−" if x.op == "neg" else w["not"] + " ") + self._text(x.operand)
        if isinstance(x, ir.BinaryOp):
            if x.op in ("in", "notin"):
                if not isinstance(x.right, ir.ListItems):
                    return f"{self._text(x.left)} {w[x.op + '_list']} {self._text(x.right)}"
                pool = w["sep"].join(self._text(i) for i in x.right.items)
                return f"{self._text(x.left)} {w[x.op]} {pool}"
            sym = SYMBOLS.get(x.op) or w[x.op]
            return f"{_paren(x.left, x.op, self._text(x.left), False)} {sym} " \
                   f"{_paren(x.right, x.op, self._text(x.right), True)}"
        if isinstance(x, ir.If):
            return f"{w['if']} {self._text(x.cond)} {w['then']} {self._text(x.then)} {w['else']} " \
                   f"{self._text(x.otherwise)}"
        if isinstance(x, ir.Match):
            return (f"按 {self._text(x.subject)} 取值" if zh else f"by {self._text(x.subject)}")
        if isinstance(x, ir.Builtin):
            if x.func in ("years_between", "months_between", "days_between"):
                unit = {"years_between": ("周年数", "whole years"), "months_between": ("整月数", "whole months"),
                        "days_between": ("天数", "days")}[x.func]
                a, b = shown_args or tuple(self._text(arg) for arg in x.args)
                return f"{a} 至 {b} 的{unit[0]}" if zh else f"{unit[1]} from {a} to {b}"
            if x.func in ("present", "absent"):
                words = {("present", True): "有记录", ("absent", True): "无记录", ("present", False): "is recorded",
                         ("absent", False): "is not recorded"}
                return f"{self._text(x.args[0])} {words[(x.func, zh)]}"
            args = x.args if x.func != "round" else x.args[:1]
            return f"{x.func}({', '.join(self._text(a) for a in args)})"
        if isinstance(x, ir.Aggregate):
            src = self._text(x.source)
            where = f" {'中' if zh else 'where'} {self._text(x.where)}" if x.where is not None else ""
            elem = self._text(x.element) if x.element is not None else ""
            if zh:
                what = {"count": "的个数", "sum": f"的 {elem} 之和", "min": f"的 {elem} 最小值",
                        "max": f"的 {elem} 最大值", "any": f"中有 {elem}", "all": f"全部 {elem}",
                        "distinct": f"的不同 {elem} 个数"}[x.func]
                return f"{src}{where}{what}"
            what = {"count": "number of", "sum": f"sum of {elem} over", "min": f"least {elem} of",
                    "max": f"greatest {elem} of", "any": f"any {elem} among", "all": f"all {elem} among",
                    "distinct": f"distinct {elem} among"}[x.func]
            return f"{what} {src}{where}"
        if isinstance(x, ir.Lookup):
            return f"{x.list_name}[{self._text(x.key)}]"
        if isinstance(x, ir.GetField):
            if isinstance(x.obj, ir.Lookup):  # 职责清单[职责编号].责任 → 职责清单中职责编号对应的责任
                key = self._text(x.obj.key)
                return (f"{x.obj.list_name}中{key}对应的{x.name}" if zh else
                        f"the {x.name} for {key} in {x.obj.list_name}")
            return f"{self._text(x.obj)}.{x.name}"
        if isinstance(x, ir.ListItems):
            return "[" + w["sep"].join(self._text(i) for i in x.items) + "]"
        if isinstance(x, ir.Across):
            keys = w["sep"].join(self._text(k.expr) for k in x.order)
            within = f",{self._text(x.within)}内" if zh and x.within is not None else (
                f" within {self._text(x.within)}" if x.within is not None else "")
            what = self._text(x.value) if x.value is not None else keys
            return f"{x.func}({what}{within})"
        return "…"

    # -------------------------------------------------------------------------------------------- why not
    def _suggestions(self, node: ir.Node, step, v: list, values: dict, as_of: date) -> tuple[Suggestion, ...]:
        found: list[Suggestion] = []
        if isinstance(node.body, ir.EligibilityBody):
            slot = self.engine.slots[node.name]
            for cond, res in zip(node.body.conditions, step.conditions):
                if res.passed:
                    continue
                guards = {_guard_field(p) for p in _flatten(cond.expr, "or")} - {None}
                live = self._live(cond.expr, v)
                fields = [f for f in self._fields_of_expr(cond.expr) if f not in guards and f in live]

                def key(vv, cond=cond):
                    return bool(self._eval(cond.expr, vv))

                for change in self._search(fields, values, as_of, key):
                    field, new_value, new_v = change
                    whole = new_v[slot]
                    reads = [r for r in cond.reads if r in self.policy.nodes and new_v[self.engine.slots[r]] !=
                             v[self.engine.slots[r]]]
                    effect = self._cond_effect(cond.name, node.name, whole, reads, new_v)
                    found.append(self._suggestion(field, values[field], new_value, effect))
            return tuple(found)
        decides = self._decides.get(node.name)
        if decides is None:
            decides = self._decides[node.name] = _decides(node.body) or bool(self._decision_fields_of(node.name))
        if not decides:
            return ()
        slot = self.engine.slots[node.name]
        live = self._live_node(node.name, v)
        fields = [f for f in self._decision_fields_of(node.name) if f in live]
        current = v[slot]
        for field, new_value, new_v in self._search(fields, values, as_of, lambda vv: vv[slot] != current,
                                                    flip_only=True):
            if len(found) == 8:
                break
            new = with_unit(node.name, new_v[slot], node.type, self.lang)
            diff = _change(current, new_v[slot], node.type, self.lang, node.name) \
                if node.type in (INT, MONEY, DECIMAL, PERCENT) else ""
            if diff:
                new += f"({diff})" if self.lang == "zh" else f" ({diff})"
            effect = f"{node.name} 将为 {new}" if self.lang == "zh" else f"{node.name} would be {new}"
            found.append(self._suggestion(field, values[field], new_value, effect))
        return tuple(found)

    def _cond_effect(self, cond: str, outcome: str, whole: bool, reads: list, new_v) -> str:
        zh = self.lang == "zh"
        changes = ", ".join(
            f"{r} {'将为' if zh else 'would be'} "
            f"{with_unit(r, new_v[self.engine.slots[r]], self.policy.nodes[r].type, self.lang)}" for r in reads)
        if zh:
            text = (f"{changes}," if changes else "") + f"条件“{cond}”将满足"
            return text + (f",{outcome} 将为符合" if whole else f";{outcome} 仍不符合(还有其他条件未满足)")
        text = (f"{changes}; " if changes else "") + f"condition {cond} would pass"
        return text + (f" and {outcome} would be met" if whole else f"; {outcome} would still not be met "
                                                                      f"(other conditions fail)")

    def _suggestion(self, field: str, old, new, effect: str) -> Suggestion:
        key = (field, type(new), new)
        said = self._said.get(key)  # the same change is usually suggested for several outcomes
        if said is None:
            t = self.policy.subject.field(field)
            old_t, new_t = with_unit(field, old, t, self.lang), with_unit(field, new, t, self.lang)
            change = _change(old, new, t, self.lang, field)
            zh = self.lang == "zh"
            now = f"现为 {old_t}" if zh else f"now {old_t}"
            detail = f"{now}, {change}" if change and not zh else (f"{now},{change}" if change else now)
            head = f"若 {field} 为 {new_t}({detail})," if zh else f"if {field} were {new_t} ({detail}), "
            said = self._said[key] = (old_t, new_t, change, head)
        old_t, new_t, change, head = said
        return Suggestion(field, old_t, new_t, change, effect, head + effect)

    def _search(self, fields: Iterable[str], values: dict, as_of: date, flipped: Callable[[list], bool],
                flip_only: bool = False):
        """For each field, the smallest change up and down (re-evaluated) for which `flipped(v)` holds."""
        for field in fields:
            t = self.policy.subject.field(field)
            old = values.get(field)
            if old is None:
                continue
            best = []
            for candidates in _candidates(old, t):
                for new in candidates:
                    new_v = self._changed(values, field, new, as_of)
                    if new_v is not None and flipped(new_v):
                        best.append((field, new, new_v))
                        break
            if isinstance(t, EnumType) and not t.ordered or t == BOOL:
                yield from best
                continue
            for direction in (1, -1):
                hit = self._bisect(field, old, t, direction, values, as_of, flipped)
                if hit is not None:
                    yield hit

    def _bisect(self, field, old, t, direction, values, as_of, flipped):
        step = _STEPS.get(t)
        if step is None and not (isinstance(t, EnumType) and t.ordered):
            return None
        if isinstance(t, EnumType):
            rank = t.rank(old)
            order = t.labels[rank + 1:] if direction > 0 else tuple(reversed(t.labels[:rank]))
            for label in order:
                new_v = self._changed(values, field, label, as_of)
                if new_v is not None and flipped(new_v):
                    return field, label, new_v
            return None

        def moved(k: int):
            new = _move(old, t, k * direction)
            if new is None:
                return None, None
            return new, self._changed(values, field, new, as_of)

        thresholds = self._saturation(field)[2]
        if thresholds is not None:
            # Only comparisons read the field: the record's values are the same for every change that leaves it on
            # the same side of each threshold, so the steps that reach or pass one are the only ones to try, in
            # order — the smallest change that flips, found exactly, without probing.
            key = (field, direction, "crossings")
            probes = self._ladders.get(key)
            if probes is None:
                probes = self._ladders[key] = []
                # the nearest crossings only: a 10,000-row table would otherwise cost 20,000 evaluations a field
                for k in _crossings(old, t, step, direction, thresholds)[:MAX_CROSSINGS]:
                    new, new_v = moved(k)
                    if new is None:
                        break
                    probes.append((new, new_v))
            for new, new_v in probes:
                if new_v is not None and flipped(new_v):
                    return field, new, new_v
            return None

        lo, hi = 0, None
        for k, _new, new_v in self._ladder(field, old, t, direction, values, as_of):
            if new_v is not None and flipped(new_v):
                hi = k
                break
            lo = k
        if hi is None:
            return None
        while hi - lo > 1:
            mid = (lo + hi) // 2
            new, new_v = moved(mid)
            if new is not None and new_v is not None and flipped(new_v):
                hi = mid
            else:
                lo = mid
        new, new_v = moved(hi)
        return field, new, new_v

    def _ladder(self, field, old, t, direction, values, as_of) -> list:
        """The exponential probe of a field, (k, new value, values) for k = 1, 2, 4, … 2**24 while the change is
        possible; computed once per record and direction, then read by every outcome's search."""
        key = (field, direction)
        ladder = self._ladders.get(key)
        if ladder is None:
            ladder = self._ladders[key] = []
            low, high, _ = self._saturation(field)
            k = 1
            while k <= 1 << 24:
                new = _move(old, t, k * direction)
                if new is None:
                    break
                ladder.append((k, new, self._changed(values, field, new, as_of)))
                if (direction > 0 and high is not None and new > high) or \
                        (direction < 0 and low is not None and new < low):
                    break  # past every threshold the field meets: further probes would all give these values
                k *= 2
        return ladder

    def _saturation(self, field: str) -> tuple:
        """(low, high, thresholds): no node of the record changes while the field moves above `high` (or below
        `low`); None where there is no such bound. Known only for a field that every expression uses solely as a
        side of a comparison or membership test, or as an argument of min/max/clamp, against constants, params
        and the evaluation date: its value matters only through which side of those figures it falls on.
        `thresholds` (None unless every use is a comparison or membership test) are those figures: the record's
        values can change only where the field reaches or passes one of them."""
        key = (field, self._v[self.engine.slots["<as_of>"]])
        found = self._bounds.get(key)
        if found is None:
            found = self._bounds[key] = self._find_saturation(field)
        return found

    def _find_saturation(self, field: str) -> tuple:
        uses = [(parent, child) for parent, child in self._field_uses() if child.name == field]
        lows, highs, pure = [], [], True
        for parent, child in uses:
            if parent is None:
                return None, None, None
            if isinstance(parent, ir.BinaryOp) and parent.op in ("eq", "ne", "lt", "le", "gt", "ge", "in",
                                                                   "notin"):
                others = [parent.right if parent.left is child else parent.left]
                if parent.op in ("in", "notin"):
                    if parent.left is not child or not isinstance(parent.right, ir.ListItems):
                        return None, None, None
                    others = list(parent.right.items)
                if not all(self._fixed(o) for o in others):
                    return None, None, None
                figures = [self._eval(o, self._v) for o in others]
                lows += figures
                highs += figures
            elif isinstance(parent, ir.Builtin) and parent.func in ("min", "max", "clamp"):
                others = [a for a in parent.args if a is not child]
                if len(others) != len(parent.args) - 1 or not all(self._fixed(o) for o in others):
                    return None, None, None
                figures = [self._eval(o, self._v) for o in others]
                pure = False
                if parent.func == "clamp":
                    if parent.args[0] is not child:
                        return None, None, None
                    lows.append(figures[0])
                    highs.append(figures[1])
                elif parent.func == "min":  # min(F, c) is c for every F above c; below c it follows F
                    highs += figures
                    lows.append(None)
                else:
                    lows += figures
                    highs.append(None)
            else:
                return None, None, None
        try:
            low = None if None in lows or not lows else min(lows)
            high = None if None in highs or not highs else max(highs)
        except TypeError:
            return None, None, None
        return low, high, (tuple(sorted(set(lows))) if pure else None)

    def _fixed(self, x: ir.IExpr) -> bool:
        """A constant for the whole record: a literal, a param or the evaluation date."""
        return isinstance(x, (ir.Const, ir.AsOf)) or (isinstance(x, ir.Ref) and x.kind == "param")

    def _field_uses(self) -> list:
        """(parent expression, Ref) for every reference to a field in the record's nodes (parent None: the
        reference is a whole node body, row value or condition)."""
        if self._uses is None:
            uses = []

            def walk(x, parent):
                if isinstance(x, ir.Ref) and x.kind == "field":
                    uses.append((parent, x))
                for c in _children(x):
                    walk(c, x)
            for node in self.policy.nodes.values():
                body = node.body
                if isinstance(body, ir.TableBody):
                    for row in body.rows:
                        if row.condition is not None:
                            walk(row.condition, None)
                        walk(row.value, None)
                elif isinstance(body, ir.EligibilityBody):
                    for c in body.conditions:
                        walk(c.expr, None)
                else:
                    walk(body, None)
            self._uses = uses
        return self._uses

    def _changed(self, values: dict, field: str, new, as_of: date) -> list | None:
        key = (field, type(new), new)
        found = self._runs.get(key, _MISSING)
        if found is _MISSING:
            found = self._runs[key] = self._rerun(field, new)
        return found

    def _rerun(self, field: str, new) -> list | None:
        """The record's values with one field changed. Only what the change reaches is re-evaluated: a node is
        recomputed when something it reads has a new value (the others keep their values from the record's own
        evaluation), so a change that a `min` or a table absorbs stops there."""
        chain = self._downstream.get(field)
        if chain is None:
            slots = self.engine.slots
            chain = self._downstream[field] = tuple(
                (slot, fn, frozenset(slots[r] for r in self.policy.nodes[name].reads if r in slots))
                for slot, name, fn in self.engine.fast if field in self._field_cone(name))
        v = self._v.copy()
        changed = {self.engine.slots[field]}
        v[self.engine.slots[field]] = new
        try:
            for slot, fn, reads in chain:
                if changed.isdisjoint(reads):
                    continue
                value = fn(v, None)
                if not _same(value, v[slot]):
                    changed.add(slot)
                v[slot] = value
        except (EvaluationError, ArithmeticError, InvalidOperation, KeyError, TypeError, ValueError, OverflowError,
                AttributeError):  # (AttributeError: an absent optional value read where a guard no longer holds)
            return None
        return v

    def _run(self, values: dict, as_of: date) -> list | None:
        """The record re-evaluated from scratch (all nodes): the reference `_rerun` is tested against."""
        e = self.engine
        base, _ = e._base(as_of)
        v = base.copy()
        for slot, name in e.field_slots:
            v[slot] = values.get(name)
        try:
            for slot, _, fn in e.fast:
                v[slot] = fn(v, None)
        except (EvaluationError, ArithmeticError, InvalidOperation, KeyError, TypeError, ValueError, OverflowError,
                AttributeError):  # (AttributeError: an absent optional value read where a guard no longer holds)
            return None
        return v

    def _live_node(self, name: str, v: list) -> frozenset[str]:
        """The input fields whose change can change this node's value, given the record's branches (memoised)."""
        found = self._live_memo.get(name)
        if found is None:
            self._live_memo[name] = frozenset()  # cycles are rejected by check; this only guards recursion
            body = self.policy.nodes[name].body
            if isinstance(body, ir.EligibilityBody):
                conds = [c.expr for c in body.conditions]
                failed = [x for x in conds if not self._eval(x, v)]
                found = self._live_union(failed or conds, v)  # while one condition fails, passing ones can't help
            elif isinstance(body, ir.TableBody):
                parts = []
                for row in body.rows:
                    if row.condition is None:
                        parts.append(row.value)
                        if body.hit != "unique":
                            break
                        continue
                    parts.append(row.condition)
                    if self._eval(row.condition, v):
                        parts.append(row.value)
                        if body.hit != "unique":
                            break  # rows below the chosen one are never reached unless a condition above flips
                found = self._live_union(parts, v)
            else:
                found = self._live(body, v)
            self._live_memo[name] = found
        return found

    def _live_union(self, xs, v) -> frozenset[str]:
        out: frozenset[str] = frozenset()
        for x in xs:
            out |= self._live(x, v)
        return out

    def _live(self, x: ir.IExpr, v: list) -> frozenset[str]:
        """The input fields whose change can change `x`'s value on this record: an if/match only through its
        condition and the branch taken, a false `and` only through its false operands (a true `or` likewise).
        Any other field is left unchanged by a change of the record that keeps these, so searching it is
        wasted: restricting the why-not search to live fields changes no suggestion, it only skips probes."""
        if isinstance(x, ir.Ref):
            if x.kind == "field":
                return frozenset((x.name,))
            if x.kind == "node":
                return self._live_node(x.name, v)
            return frozenset()
        if isinstance(x, ir.If):
            branch = x.then if self._eval(x.cond, v) else x.otherwise
            return self._live(x.cond, v) | self._live(branch, v)
        if isinstance(x, ir.Match):
            label = self._eval(x.subject, v)
            branch = next((val for labels, val in x.arms if label in labels), x.default)
            return self._live_union([x.subject] + ([branch] if branch is not None else []), v)
        if isinstance(x, ir.BinaryOp) and x.op in ("and", "or"):
            parts = _flatten(x, x.op)
            decisive = x.op == "or"  # the operand value that alone decides the whole: true for or, false for and
            keep = [p for p in parts if self._maybe(p, v) == decisive]
            return self._live_union(keep or parts, v)
        if isinstance(x, ir.Aggregate):  # its parts see the element, not the record: every field it names
            return self._live_union(_refs(x), v)
        return self._live_union(_children(x), v)

    def _fields_of_expr(self, x: ir.IExpr) -> tuple[str, ...]:
        fields: list[str] = []
        for ref in _refs(x):
            if ref.kind == "field":
                fields.append(ref.name)
            elif ref.kind == "node":  # in the record's field order (a set's order would vary between runs)
                order = self.policy.subject.field_names
                fields.extend(sorted(self._field_cone(ref.name), key=order.index))
        return tuple(f for f in dict.fromkeys(fields) if _searchable(self.policy.subject.field(f)))

    def _field_cone(self, name: str) -> frozenset[str]:
        """Every input field a node depends on, transitively."""
        if name not in self._cone:
            self._cone[name] = frozenset()  # cycles are rejected by check; this only guards recursion
            node = self.policy.nodes[name]
            found = set()
            for r in node.reads:
                if r in self.policy.nodes:
                    found |= self._field_cone(r)
                elif r in self.policy.subject.field_names:
                    found.add(r)
            self._cone[name] = frozenset(found)
        return self._cone[name]

    def _decision_fields_of(self, name: str) -> tuple[str, ...]:
        """The input fields that feed a comparison, membership test, if condition or match in a node's cone."""
        if name in self._decision_fields:
            return self._decision_fields[name]
        self._decision_fields[name] = ()
        node = self.policy.nodes[name]
        fields: list[str] = []
        for x in _decision_exprs(node.body):
            fields.extend(self._fields_of_expr(x))
        for r in node.reads:
            if r in self.policy.nodes:
                fields.extend(self._decision_fields_of(r))
        order = self.policy.subject.field_names
        result = tuple(sorted(dict.fromkeys(fields), key=order.index))
        self._decision_fields[name] = result
        return result


@dataclass(frozen=True)
class _Expand:
    """A place in a node's sentences where the nodes read so far are explained (after a failed condition)."""

    names: tuple[str, ...]


class _Tracker:
    """Collects the params and nodes a sentence mentions (params become figures, nodes get explained next)."""

    def __init__(self, params: list, nodes: list):
        self.params, self.nodes = params, nodes
        self.branches: list[str] = []  # if/match inside a formula: the branch taken, as a sentence

    def __call__(self, ref: ir.Ref) -> None:
        if isinstance(ref, ir.Ref):
            if ref.kind == "param":
                self.params.append(ref.name)
            elif ref.kind == "node":
                self.nodes.append(ref.name)


SYMBOLS = {"add": "+", "sub": "−", "mul": "×", "div": "÷", "eq": "=", "ne": "≠", "lt": "<", "le": "≤", "gt": ">",
           "ge": "≥"}
ARITH = ("add", "sub", "mul", "div")
PRECEDENCE = {"or": 1, "and": 2, "eq": 3, "ne": 3, "lt": 3, "le": 3, "gt": 3, "ge": 3, "in": 3, "notin": 3,
              "add": 4, "sub": 4, "mul": 5, "div": 5}
_STEPS = {INT: 1, MONEY: Decimal("0.01"), PERCENT: Decimal("0.0001"), DECIMAL: Decimal("0.01"), DATE: 1}


def _paren(child: ir.IExpr, op: str, text: str, right: bool) -> str:
    if isinstance(child, ir.BinaryOp):
        mine, theirs = PRECEDENCE[op], PRECEDENCE.get(child.op, 9)
        if theirs < mine or (right and theirs == mine and op in ("sub", "div")):
            return f"({text})"
    if isinstance(child, ir.If):
        return f"({text})"
    return text


def _guard_field(x: ir.IExpr) -> str | None:
    """The field of a scope guard `F != c` / `F not in [...]` (in `F != 书记 or …`: the rule is for 书记 only)."""
    if isinstance(x, ir.BinaryOp) and x.op in ("ne", "notin") and isinstance(x.left, ir.Ref) \
            and x.left.kind == "field" and (isinstance(x.right, ir.Const) or (
                isinstance(x.right, ir.ListItems) and all(isinstance(i, ir.Const) for i in x.right.items))):
        return x.left.name
    return None


def _is_condition(x: ir.IExpr) -> bool:
    """A bool expression best read as a question (comparison, and/or/not, membership)."""
    return (isinstance(x, ir.BinaryOp) and x.op in ("and", "or", "eq", "ne", "lt", "le", "gt", "ge", "in", "notin")) \
        or (isinstance(x, ir.UnaryOp) and x.op == "not")


def _flatten(x: ir.IExpr, op: str) -> list[ir.IExpr]:
    if isinstance(x, ir.BinaryOp) and x.op == op:
        return _flatten(x.left, op) + _flatten(x.right, op)
    return [x]


_CHILDREN: dict[int, tuple] = {}


def _children(x) -> tuple:
    """The sub-expressions of an IR expression (memoised: the IR is immutable and outlives the explanations)."""
    found = _CHILDREN.get(id(x))
    if found is None or found[0] is not x:
        if len(_CHILDREN) > 200_000:  # a long-lived process (the language server) loads many policies
            _CHILDREN.clear()
        found = _CHILDREN[id(x)] = (x, tuple(_children_of(x)))
    return found[1]


def _children_of(x) -> list:
    out = []
    for f in ("operand", "left", "right", "cond", "then", "otherwise", "subject", "default", "source", "element",
              "where", "key", "obj"):
        c = getattr(x, f, None)
        if isinstance(c, ir.IExpr):
            out.append(c)
    out += list(getattr(x, "args", ())) + list(getattr(x, "items", ()))
    out += [val for _, val in getattr(x, "arms", ())]
    return out


def _refs(x: ir.IExpr) -> list[ir.Ref]:
    if isinstance(x, ir.Ref):
        return [x]
    return [r for c in _children(x) for r in _refs(c)]


def _decision_exprs(body) -> list[ir.IExpr]:
    """The sub-expressions whose value decides a branch: comparison operands, conditions, match subjects."""
    if isinstance(body, ir.TableBody):
        return [r.condition for r in body.rows if r.condition is not None] + \
            [x for r in body.rows for x in _decision_exprs(r.value)]
    if isinstance(body, ir.EligibilityBody):
        return [c.expr for c in body.conditions]
    out = []
    if isinstance(body, ir.If):
        out.append(body.cond)
    if isinstance(body, ir.Match):
        out.append(body.subject)
    if isinstance(body, ir.BinaryOp) and body.op in ("eq", "ne", "lt", "le", "gt", "ge", "in", "notin"):
        out.append(body)
    for c in _children(body):
        if not isinstance(c, ir.Aggregate):
            out.extend(_decision_exprs(c))
    return out


def _decides(body) -> bool:
    return bool(_decision_exprs(body))


def _searchable(t: Type | None) -> bool:
    return t in _STEPS or t == BOOL or isinstance(t, EnumType)


def _candidates(old, t) -> list[list]:
    """Changes tried one by one (bools and unordered enums); numbers and ordered enums are bisected instead."""
    if t == BOOL:
        return [[not old]]
    if isinstance(t, EnumType) and not t.ordered:
        rank = t.rank(old)
        return [list(t.labels[:rank][::-1]), list(t.labels[rank + 1:])]
    return []


def _move(old, t, k: int):
    if t == DATE:
        try:
            return old + timedelta(days=k)
        except OverflowError:
            return None
    if t == INT:
        new = old + k
        return None if old >= 0 > new else new
    step = _STEPS[t]
    new = old + step * k
    if t == MONEY and old >= 0 > new:
        return None
    return new


#: Threshold crossings tried per field and direction for "what would change it" (the nearest first).
MAX_CROSSINGS = 64


def _crossings(old, t, step, direction: int, thresholds) -> list[int]:
    """The step counts k ≥ 1 at which `old` moved by k steps in `direction` first reaches, and first passes, each
    threshold on that side (in increasing order)."""
    ks = set()
    for th in thresholds:
        try:
            diff = (th - old) if direction > 0 else (old - th)
            if t == DATE:
                diff, unit = diff.days, 1
            else:
                unit = step
            if diff < 0:
                continue
            q, r = divmod(diff, unit)
        except (TypeError, ArithmeticError):
            continue
        q = int(q)
        ks.add(q if r == 0 else q + 1)
        ks.add(q + 1)
    return sorted(k for k in ks if k >= 1)


def _change(old, new, t, lang: str, field: str) -> str:
    """The size of a change in words: "2 more" / "多 2", "1 day later" / "晚 1 天"."""
    zh = lang == "zh"
    if t == DATE:
        later = new > old
        a, b = (old, new) if later else (new, old)
        months = whole_months(a, b)
        from .engines.row import add_duration
        days = (b - add_duration(a, Duration(months, 0))).days
        parts = []
        years, months = divmod(months, 12)
        if zh:
            parts = [f"{years} 年" if years else "", f"{months} 个月" if months else "", f"{days} 天" if days else ""]
            return ("晚 " if later else "早 ") + " ".join(p for p in parts if p)
        parts = [_plural(years, "year", "years") if years else "", _plural(months, "month", "months") if months
                 else "", _plural(days, "day", "days") if days else ""]
        return " ".join(p for p in parts if p) + (" later" if later else " earlier")
    if t in (INT, MONEY, PERCENT, DECIMAL):
        diff = abs(new - old)
        shown = format_value(diff, t, lang) + unit_of(field, t, diff, lang)
        if zh:
            return ("多 " if new > old else "少 ") + shown
        return shown + (" more" if new > old else " less")
    return ""


def _same(a, b) -> bool:
    """Equal and indistinguishable when shown (same type; for Decimal the same exponent: 0.1 is not 0.10)."""
    if type(a) is not type(b) or a != b:
        return False
    return not isinstance(a, Decimal) or a.as_tuple().exponent == b.as_tuple().exponent


def _wrap(value, t):
    if t == MONEY and isinstance(value, Decimal):
        return Money(value)
    if t == PERCENT and isinstance(value, Decimal):
        return Percent(value)
    return value


# ------------------------------------------------------------------------------------------------ public API

def explain_record(policy: ir.Policy, values: dict, *, record_id: str = "", lang: str = "zh",
                   as_of: date | None = None, engine: Engine | None = None, why_not: bool = True,
                   explainer: Explainer | None = None) -> Explanation:
    """Evaluate one record (field values in runtime form) with a trace and explain every outcome."""
    explainer = explainer or Explainer(policy, engine, lang, why_not)
    return explainer.explain_values(values, record_id, as_of)


def explain(policy: ir.Policy, result: Result, lang: str = "zh", values: dict | None = None,
            engine: Engine | None = None, why_not: bool = True) -> Explanation:
    """Explain an already evaluated record (a Result with its trace); pass `values` for the why-not suggestions."""
    return Explainer(policy, engine, lang, why_not and values is not None).explain(result, values)


LABELS = {
    "zh": {"title": "结果说明", "record": "记录", "as_of": "评估日期", "policy": "政策", "source": "依据",
           "value": "结果", "reasons": "理由", "figures": "使用的参数", "name": "名称", "effective": "生效日期",
           "citation": "出处", "assumed": "本政策文件的假定(非原文规定)", "assumed_short": "假定",
           "why_not": "怎样会改变结果", "inputs": "记录中的数据", "field": "项目", "error": "无法计算",
           "always": "一直有效", "from": "自 {d} 起生效", "index": "结果说明索引", "not_applied": "不适用", "outcomes": "结果",
           "no_source": "原文未给出", "colon": ":", "lparen": "(", "rparen": ")"},
    "en": {"title": "Explanation", "record": "Record", "as_of": "Evaluated on", "policy": "Policy",
           "source": "Source", "value": "Result", "reasons": "Reasons", "figures": "Parameters used", "name": "Name",
           "effective": "In force from", "citation": "Source", "assumed":
           "an assumption of this policy file, not of the source", "assumed_short": "assumed",
           "why_not": "What would change it", "inputs": "Data in the record", "field": "Field",
           "error": "Could not be computed", "always": "in force throughout", "from": "in force from {d}", "index": "Explanations", "not_applied":
           "does not apply", "outcomes": "Outcomes", "no_source": "not given in the source", "colon": ": ",
           "lparen": " (", "rparen": ")"},
}


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
                             autoescape=jinja2.select_autoescape(["html"], default_for_string=False),
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                             undefined=jinja2.StrictUndefined, auto_reload=False)
    return env


_ENV: jinja2.Environment | None = None
EXTENSIONS = {"text": "txt", "md": "md", "html": "html"}


_TEMPLATES: dict[str, jinja2.Template] = {}


def _env() -> jinja2.Environment:
    global _ENV
    if _ENV is None:
        _ENV = _environment()
    return _ENV


def _template(name: str) -> jinja2.Template:
    """A page template, compiled once per process (the templates ship with the package and do not change)."""
    found = _TEMPLATES.get(name)
    if found is None:
        found = _TEMPLATES[name] = _env().get_template(name)
    return found


def render(explanation: Explanation, fmt: str = "text") -> str:
    """The explanation as plain text, Markdown or a self-contained HTML page (every value escaped)."""
    if fmt not in FORMATS:
        raise ExplainError(f"unknown format '{fmt}': choose one of {', '.join(FORMATS)}")
    template = _template(f"explanation.{EXTENSIONS[fmt]}")
    page = template.render(x=explanation, t=LABELS[explanation.lang])
    return page if fmt == "html" else printable_lines(page)  # a record's escape codes never reach a terminal


def render_index(entries: list[tuple[str, str, Explanation]], fmt: str, lang: str, policy: ir.Policy) -> str:
    """An index of many explanations: (file name, record id, explanation) per entry."""
    template = _template(f"index.{EXTENSIONS[fmt]}")
    return template.render(entries=entries, t=LABELS[lang], lang=lang, policy=policy)


def _summary(x: Explanation) -> Explanation:
    """The explanation without its reasons, figures, suggestions and inputs (what an index needs)."""
    outcomes = tuple(replace(o, reasons=(), figures=(), suggestions=(), sources=()) for o in x.outcomes)
    return replace(x, outcomes=outcomes, inputs=(), figures=())


def file_name(record_id: str, fmt: str) -> str:
    """A safe file name for a record id (letters, digits, Chinese, . _ - kept); a long id is shortened to a prefix
    and a hash of the whole id, since file systems refuse names beyond 255 bytes."""
    safe = re.sub(r"[^\w.-]", "_", record_id).strip(".") or "record"
    if len(safe.encode("utf-8")) > MAX_NAME_BYTES:
        import hashlib
        digest = hashlib.sha256(record_id.encode("utf-8")).hexdigest()[:12]
        prefix = safe.encode("utf-8")[:MAX_NAME_BYTES - 13].decode("utf-8", "ignore")
        safe = f"{prefix}-{digest}"
    return f"{safe}.{EXTENSIONS[fmt]}"


#: Bytes of a file name made from a record id, before its extension (file systems allow 255).
MAX_NAME_BYTES = 100


# ------------------------------------------------------------------------------------------------ files

def load_inputs(policy: ir.Policy, records_path: str | Path, related: dict[str, str | Path] | None = None):
    """Load the records of a data file (a `records.LoadResult`: good records, errors, failed ids)."""
    from .engines.records import load_records  # the data layer is needed only when files are explained
    return load_records(records_path, policy.subject, policy.records, related or {})


_TIES_WORDS = {
    "zh": {"standard": "并列者名次相同,其后名次顺延", "dense": "并列者名次相同,其后名次连续",
           "ordinal": "并列时按记录编号先后排定"},
    "en": {"standard": "ties share a rank and the next rank is skipped", "dense": "ties share a rank, the next "
           "follows on", "ordinal": "ties are ordered by the record key"},
}
_ROUNDING_WORDS = {"zh": {"up": "(人数向上取整)", "down": "(人数向下取整)", "half_up": "(人数四舍五入)"},
                   "en": {"up": " (rounded up)", "down": " (rounded down)", "half_up": " (rounded half up)"}}
_METHOD_WORDS = {
    "zh": {"largest_remainder": "最大余数法", "dhondt": "最高平均数法(D'Hondt)", "partial": "不足时按余额批给",
           "whole": "不足时不予批给"},
    "en": {"largest_remainder": "largest remainder", "dhondt": "D'Hondt", "partial": "the last gets what is left",
           "whole": "a request that does not fit gets nothing"},
}
_AGGREGATE_WORDS = {
    "zh": {"count": "个数", "sum": "合计", "min": "最小值", "max": "最大值", "any": "是否有", "all": "是否全部",
           "distinct": "不同取值个数"},
    "en": {"count": "the number", "sum": "the total of", "min": "the least", "max": "the greatest", "any": "any",
           "all": "all", "distinct": "the distinct values of"},
}


def write_all(policy: ir.Policy, records, out_dir: str | Path, *, lang: str = "zh", fmt: str = "html",
              as_of: date | None = None, why_not: bool = True, engine: Engine | None = None,
              progress: Callable[[int], None] | None = None,
              explainer: Explainer | None = None) -> list[tuple[str, str, Explanation]]:
    """Write one explanation file per (id, values) record into `out_dir`, and an index; returns the entries.

    The entries carry each explanation in summary (the outcomes' values and headlines, no reasons, figures or
    suggestions: those are in the files), so that memory stays small for 100,000 records.

    One `Explainer` (compiled engine, checked author templates, why-not analysis) serves every record: pass the
    one you already have, or it is built once here."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if explainer is None or explainer.lang != lang or explainer.why_not != why_not:
        explainer = Explainer(policy, engine, lang, why_not)
    entries: list[tuple[str, str, Explanation]] = []
    used: set[str] = set()
    for record_id, values in records:
        x = explainer.explain_values(values, record_id, as_of)
        name = file_name(record_id, fmt)
        stem, n = name, 2
        while name.lower() in used or name.lower() == f"index.{EXTENSIONS[fmt]}":
            name = stem.replace(".", f"-{n}.", 1) if "." in stem else f"{stem}-{n}"
            n += 1
        used.add(name.lower())
        (out / name).write_text(render(x, fmt), encoding="utf-8")
        entries.append((name, record_id, _summary(x)))
        if progress:
            progress(1)
    (out / f"index.{EXTENSIONS[fmt]}").write_text(render_index(entries, fmt, lang, policy), encoding="utf-8")
    return entries
