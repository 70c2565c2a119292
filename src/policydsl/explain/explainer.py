"""The builder: an `Explainer` compiles a policy once and explains many records."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import jinja2
from jinja2.exceptions import SecurityError, TemplateError

from .. import ir, naming
from ..engines.row import Engine, Result
from ..types import INT, EnumType
from .authored import _annotated, _author_env, _render_bounded, _template_problem
from .decision import DecisionMixin
from .formatting import LANGS, WORDS, _change, _wrap, format_date, format_value, fullwidth, unit_of
from .memo import ReadsMemo, value_key
from .model import ExplainError, Explanation, Figure
from .reasons import MAX_SECTIONS, ReasonsMixin, _polished_suggestion
from .sentences import SentencesMixin
from .suggestions import SuggestionsMixin


class Explainer(DecisionMixin, ReasonsMixin, SentencesMixin, SuggestionsMixin):
    """Builds explanations for one policy (compile once, explain many records). Author templates are checked here."""

    def __init__(self, policy: ir.Policy, engine: Engine | None = None, lang: str = "zh", why_not: bool = True,
                 memo: bool = True):
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
        self._downstream: dict[tuple[str, ...], tuple] = {}  # changed fields → the nodes they reach, in order
        self._decides: dict[str, bool] = {}
        self._bounds: dict = {}
        self._uses: list | None = None
        self._names: dict[tuple[str, str | None], str] = {}
        self._aggs: dict[str, list] = {}
        self._units: dict[tuple[str, bool], str] = {}
        self._texts: dict[int, tuple] = {}  # an expression's words, by id (the IR outlives the explainer)
        self._notes: dict[tuple[str, int], tuple] = {}  # the notes' citations in the reader's words
        self._figures: dict[tuple, Figure] = {}
        self._suggestable: dict[str, bool] = {}
        self._input_lines: dict[tuple, tuple[str, str]] = {}
        self._cone_order: dict[str, tuple[str, ...]] = {}
        self._sentences: dict[tuple, object] = {}  # suggestions' words, by the figures they show
        self._param_order = {name: i for i, name in enumerate(policy.params)}
        self._enum_owner = self._enum_owners()
        self._check_templates()
        # records that compare with each other say where they stand among the others: nothing to share
        memo = memo and not self.engine.cross
        reads_memo = ReadsMemo(policy, self.engine.slots, self.env, memo)
        self._memo, self._memo_store = reads_memo.lookup, reads_memo.store
        self._sections: dict | None = {} if memo else None
        self._parts: dict[tuple, object] = {}  # outcomes explained by a few nodes, by the values those read
        self._few: dict[str, tuple[str, ...] | None] = {}

    # -------------------------------------------------------------------------------------------- names, values
    def _enum_owners(self) -> dict:
        """The glossary owner of each enum type's labels: its name, or for an inline enum the field declaring it."""
        owners: dict = {}
        schemas = [self.policy.subject, *self.policy.records.values()]
        for schema in schemas:
            for field, t in schema.fields:
                if isinstance(t, EnumType) and t.name not in self.policy.enums:
                    owners.setdefault(t, field)
        return owners

    def _n(self, name: str) -> str:
        """A name as the reader's language calls it (`naming.label`)."""
        key = (name, None)
        found = self._names.get(key)
        if found is None:
            found = self._names[key] = naming.label(self.policy, name, self.lang)
        return found

    def _m(self, owner: str, member: str) -> str:
        """`owner.member` (a condition, an enum label, a related record's field) in the reader's language."""
        key = (owner, member)
        found = self._names.get(key)
        if found is None:
            found = self._names[key] = naming.member_label(self.policy, owner, member, self.lang)
        return found

    def _val(self, value, t, lang: str | None = None) -> str:
        """A value for the reader; an enum label through the glossary (`lang` is the explainer's own)."""
        if isinstance(t, EnumType) and isinstance(value, str):
            return self._m(self._enum_owner.get(t, t.name), value)
        return format_value(value, t, self.lang)

    def _unit(self, name: str, t, value, lang: str | None = None) -> str:
        """The unit after `name`'s figure; it depends on the name and on whether the figure is one (memoised)."""
        if t != INT or not isinstance(value, int) or isinstance(value, bool):
            return ""
        key = (name, abs(value) == 1)
        found = self._units.get(key)
        if found is None:
            found = self._units[key] = unit_of(name, t, value, self.lang, self.policy)
        return found

    def _wu(self, name: str, value, t, lang: str | None = None) -> str:
        """A value with the unit the policy gives its name."""
        return self._val(value, t) + self._unit(name, t, value)

    def _size(self, old, new, t, lang: str, field: str) -> str:
        return _change(old, new, t, self.lang, field, self.policy)

    def _cites(self, notes) -> tuple[str, ...]:
        """The sources of a node, row, condition or param value, cited as a citizen can look them up (the same
        for every record: worked out once per note)."""
        key = ("cites", id(notes))
        found = self._notes.get(key)
        if found is None or found[0] is not notes:
            cites = tuple(self._zh(naming.cite(self.policy, c, self.lang)) for c in notes.citations
                          if c.kind == "source")
            found = self._notes[key] = (notes, cites)
        return found[1]

    def _assumed(self, notes) -> str | None:
        key = ("assumed", id(notes))
        found = self._notes.get(key)
        if found is None or found[0] is not notes:
            text = self._zh(naming.note(notes.assumed, self.lang)) if notes.assumed else None
            found = self._notes[key] = (notes, text)
        return found[1]

    def _zh(self, text: str) -> str:
        """Chinese text with full-width punctuation; English as it is."""
        return fullwidth(text) if self.lang == "zh" else text

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

    def _author(self, notes, own: str | None = None) -> str | None:
        """The author's sentence for `notes` (a node, row or condition), or None without one; `own` names the
        node whose value the template sees as `value`."""
        found = self._templates.get(id(notes))
        if found is None:
            return None
        template, ex = found
        scope = self._scope()
        if own is not None:
            scope = {**scope, "value": scope.get(own)}
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
        if not result.ok:
            return self._error_page(result, values)
        if result.trace is None:
            raise ExplainError("the result has no trace: evaluate with trace=True")
        trace = result.trace
        values = self._inputs(values, trace)
        return self._page(result.record_id, values, self._value_list(values, trace), trace.as_of, trace)

    def _error_page(self, result: Result, values: dict | None) -> Explanation:
        p = self.policy
        title, source, office, recourse = self._frame()
        return Explanation(self.lang, p.name, title, source, p.path, result.record_id, self._label(values, result),
                           "", (), (), (), result.error, office=office, recourse=recourse)

    def _page(self, record_id: str, values: dict, v: list, as_of: date, trace) -> Explanation:
        """The page of a record whose every value is in `v`; `trace` is the record's trace, or None when it was
        evaluated without one (it is then made only if a sentence not seen before needs it)."""
        p = self.policy
        self._trace = trace
        self._record = (record_id, values, as_of)
        self._scope_now = None
        self._runs: dict = {}  # (field, new value) → values of the record changed so (shared by all outcomes)
        self._ladders: dict = {}  # (field, direction) → the exponential probe of that field (shared likewise)
        self._said: dict = {}  # (field, new value) → the words for that change
        self._v = v
        self._live_memo: dict[str, frozenset[str]] = {}
        self._change_memo: dict[str, bool] = {}
        self._incidents_said: set[int] = set()
        parts = [self._outcome(node, v, values, as_of) for node in p.outcomes]
        all_figures: dict[str, Figure] = {}
        for part in parts:
            for f in part.figures:
                all_figures.setdefault(f.name, f)
        label = self._label(values, None)
        inputs = tuple(self._input_line(n, t, values.get(n)) for n, t in p.subject.fields if n in values)
        when = format_date(as_of, self.lang)
        leading = self._leading_outcomes(parts)
        self._leading = tuple(o.label for o in leading)
        suggestions = self._page_suggestions(parts)
        if self.lang == "zh":
            suggestions = tuple(_polished_suggestion(s, fullwidth) for s in suggestions)
        outcomes = tuple(self._finished(part, part in leading) for part in parts)
        title, source, office, recourse = self._frame()
        return Explanation(self.lang, p.name, title, source, p.path, record_id, label, when, inputs, outcomes,
                           tuple(sorted(all_figures.values(), key=lambda f: self._param_order[f.name])),
                           conclusion=self._conclusion(label, record_id, leading),
                           serious=any(o.serious for o in outcomes),
                           office=office, decided_on=when, recourse=recourse, suggestions=suggestions)

    def _step(self, name: str):
        """The record's trace step of a node; a record evaluated without a trace is evaluated again with one,
        once, the first time a step is needed."""
        if self._trace is None:
            record_id, values, as_of = self._record
            result = self.engine.evaluate(values, as_of, trace=True, record_id=record_id)
            if not result.ok:  # the untraced evaluation succeeded: the same record cannot fail traced
                raise ExplainError(f"{record_id}: evaluated with a trace, the record failed: {result.error}")
            self._trace = result.trace
        return self._trace.steps[name]

    def among(self, records: list[tuple[str, dict]], as_of: date | None = None) -> None:
        """The records a policy that compares records with each other explains each record among (a rank, a share
        of a total): their values across records are computed once, here. Other policies need nothing."""
        if not self.engine.cross:
            return
        context = self.engine.context([values for _, values in records], as_of)
        self._context = {record_id: (position, context) for position, (record_id, _) in enumerate(records)}

    def explain_values(self, values: dict, record_id: str = "", as_of: date | None = None) -> Explanation:
        """The explanation of one record given its field values (in runtime form)."""
        if not self.engine.cross:
            as_of = as_of or self.engine.default_as_of()
            v = self.engine.values_of(values, as_of)
            if v is not None:  # else it fails: the traced evaluation says how
                return self._page(record_id, dict(values), v, as_of, None)
            return self.explain(self.engine.evaluate(values, as_of, trace=True, record_id=record_id), values)
        known = figures = None
        if record_id in getattr(self, "_context", {}):
            position, context = self._context[record_id]
            if position in context.errors:
                return self.explain(Result(record_id, {}, error=context.errors[position]), values)
            known, figures = context.known[position], context.figures[position]
        return self.explain(self.engine.evaluate(values, as_of, trace=True, record_id=record_id, known=known,
                                                 figures=figures), values)

    # -------------------------------------------------------------------------------------------- record state
    def _label(self, values, result) -> str | None:
        source = values or {}
        if not source and result is not None and result.trace:
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
        v = e.base_values(trace.as_of)
        for slot, name in e.field_slots:
            v[slot] = values.get(name)
        for name, step in trace.steps.items():
            v[e.slots[name]] = step.value
        for name, value in trace.shared.items():
            v[e.slots[name]] = value
        return v

    def _scope(self) -> dict:
        """What an author template sees: every param, field and node value of the record, and the date (made
        once per record, and only for a template)."""
        if self._scope_now is None:
            e, p = self.engine, self.policy
            v = self._v
            scope = {name: _wrap(v[e.slots[name]], param.type) for name, param in p.params.items()}
            for name, t in p.subject.fields:
                scope[name] = _wrap(v[e.slots[name]], t)
            for name in e.order:
                scope[name] = _wrap(v[e.slots[name]], p.nodes[name].type)
            scope["as_of"] = v[e.slots["<as_of>"]]
            self._scope_now = scope
        return self._scope_now

    def _input_line(self, name: str, t, value) -> tuple[str, str]:
        """(the field's name, its value) as the page lists the record's data (made once per value)."""
        key = (name, value_key(value))
        found = self._input_lines.get(key)
        if found is None:
            if len(self._input_lines) > MAX_SECTIONS:
                self._input_lines.clear()
            found = self._input_lines[key] = (self._n(name), self._input_text(name, t, value))
        return found

    def _input_text(self, name: str, t, value) -> str:
        if value is None and name in self.policy.subject.optional:
            return "无记录" if self.lang == "zh" else "not recorded"
        return self._val(value, t, self.lang) + self._unit(name, t, value, self.lang)

    def _maybe(self, x: ir.IExpr, v: list) -> bool | None:
        """A condition's truth, or None when it reads an optional value the record does not have."""
        try:
            return bool(self._eval(x, v))
        except (TypeError, AttributeError):
            return None

    def _eval(self, x: ir.IExpr, v: list):
        fn = self._fns.get(id(x))
        if fn is None:
            fn = self._fns[id(x)] = self.engine.compile_expression(x)
        return fn(v, None)


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
