"""Choosing reasons: for each outcome the branch taken, the row chosen, the conditions that decided, and the facts
those read, recursively."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .. import ir, naming
from ..types import BOOL
from .formatting import _plural, format_date
from .model import Figure, OutcomeExplanation, Reason
from .sentences import _Tracker
from .tree import _case_guard, _flatten, _guard_field, _is_condition


def _detailed(r: Reason) -> Reason:
    """The reason folded below the plain sentences (a formula, a row, a branch); built directly, as
    dataclasses.replace costs more than the sentence."""
    return Reason(r.text, r.kind, r.node, r.depth, r.sources, r.assumed, r.passed, True)


@dataclass(frozen=True)
class _Expand:
    """A place in a node's sentences where the nodes read so far are explained (after a failed condition)."""

    names: tuple[str, ...]


class ReasonsMixin:
    """Choosing the reasons of each outcome (a part of `Explainer`)."""

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
            value_text = self._wu(node.name, step.value, node.type, lang)
        author = self._author(node.notes, {**scope, "value": scope.get(node.name)})
        headline = author or self._headline(node, step, value_text)
        figures = tuple(self._figure(p, trace) for p in dict.fromkeys(used_params))
        suggestions = self._suggestions(node, step, v, values, trace.as_of) if self.why_not else ()
        assumed = self._assumed(node.notes)
        return OutcomeExplanation(node.name, node.kind, str(node.type), step.value, value_text, headline,
                                  author is not None, tuple(reasons), figures, self._cites(node.notes), assumed,
                                  suggestions, label=self._n(node.name),
                                  serious=naming.is_serious(self.policy, node.name, step.value),
                                  applies=self._applies(node, v), incidents=self._incidents(node, v))

    def _headline(self, node: ir.Node, step, value_text: str) -> str:
        label = self._n(node.name)
        if node.kind == "eligibility":
            failed = [c for c in step.conditions if not c.passed]
            if self.lang == "zh":
                return (f"{label}:{value_text}" if not failed else
                        f"{label}:{value_text}({len(failed)} 项条件未满足)")
            return (f"{label}: {value_text}" if not failed else
                    f"{label}: {value_text} ({_plural(len(failed), 'condition', 'conditions')} failed)")
        return f"{label}: {value_text}" if self.lang == "en" else f"{label}:{value_text}"

    def _figure(self, name: str, trace) -> Figure:
        pv = trace.params[name]
        param = self.policy.params[name]
        effective = format_date(pv.start, self.lang) if pv.start else None
        return Figure(name, self._wu(name, pv.value, param.type, self.lang), effective, self._cites(pv.notes),
                      self._assumed(pv.notes), label=self._n(name))

    def _condition_reason(self, c: ir.Cond, status: str, owner: str, depth: int, scope, v, track) -> "Reason":
        """One eligibility condition as a reason line: the author's template, or a generated sentence."""
        text = self._author(c.notes, scope) or self._cond(c.expr, v, track)
        name = self._m(owner, c.name)
        label = f"{name}:{text}" if self.lang == "zh" else f"{name}: {text}"
        return Reason(label, status, owner, depth, self._cites(c.notes),
                      self._assumed(c.notes), status == "pass")

    def _eligibility_reasons(self, node: ir.Node, step, v, scope, depth, track) -> list:
        """Every failed condition as a plain sentence (and the facts it read); the conditions met in one line; the
        conditions for another case (another post, another kind of village) in one line "不适用"."""
        out: list = []
        results = list(zip(node.body.conditions, step.conditions))
        failed = [c for c, r in results if not r.passed]
        other = [c for c, r in results if r.passed and self._other_case(c.expr, v)]
        passed = [c for c, r in results if r.passed and c not in other]
        for c in failed:
            out.append(self._condition_reason(c, "fail", node.name, depth, scope, v, track))
            out.append(_Expand(tuple(track.nodes)))
        names = self.w["sep"].join(self._m(node.name, c.name) for c in passed)
        zh = self.lang == "zh"
        if failed and passed:
            text = (f"其余 {len(passed)} 项条件均满足:{names}" if zh else
                    f"the other {_plural(len(passed), 'condition holds', 'conditions hold')}: {names}")
            out.append(Reason(text, "summary", node.name, depth, (), None, True))
        elif passed:
            text = (f"全部 {len(passed)} 项条件均满足:{names}" if zh else
                    f"{'the condition holds' if len(passed) == 1 else f'all {len(passed)} conditions hold'}: "
                    f"{names}")
            out.append(Reason(text, "summary", node.name, depth, (), None, True))
            for c in passed:
                reason = self._condition_reason(c, "pass", node.name, depth, scope, v, track)
                out.append(_detailed(reason))
                out.append(_Expand(tuple(track.nodes)))
        if other:
            names = self.w["sep"].join(self._m(node.name, c.name) for c in other)
            text = f"不适用(另一情形的条件):{names}" if zh else f"not applicable (conditions for another case): {names}"
            out.append(Reason(text, "na", node.name, depth, (), None, True))
        return out

    def _other_case(self, x: ir.IExpr, v) -> bool:
        """A condition met only because the record is another case: `拟任岗位 != 书记 or …` for a clerk."""
        return isinstance(x, ir.BinaryOp) and x.op == "or" and any(
            _guard_field(p) is not None and self._maybe(p, v) is True for p in _flatten(x, "or"))

    def _applies(self, node: ir.Node, v) -> bool:
        """False for an outcome that concerns another case: `if 拟任岗位 == 秘书 then … else 0` for a secretary,
        `if 正常离任 then … else 0 元` while in post — the condition, about the record's own case, is false and
        the value is the plain default."""
        body = node.body
        if not isinstance(body, ir.If) or not isinstance(body.otherwise, ir.Const):
            return True
        if self._maybe(body.cond, v) is not False:
            return True
        false = [part for part in _flatten(body.cond, "and") if self._maybe(part, v) is False]
        return not (false and all(_case_guard(part) for part in false))

    def _incidents(self, node: ir.Node, v) -> tuple[str, ...]:
        """The related records a count over a list selected (each absence found, with its date), once per page:
        a penalty lists the incidents that counted."""
        found: list[str] = []
        for agg in self._aggregates(node.name):
            if agg.where is None or not isinstance(agg.source, ir.Ref) or agg.source.kind != "field":
                continue
            key = id(agg)
            if key in self._incidents_said:
                continue
            items = v[self.engine.slots[agg.source.name]] or ()
            where = self._element_fn(agg.where)
            chosen = [item for item in items if where(v, item)]
            if chosen:
                self._incidents_said.add(key)
                found += [self._incident(agg.source.name, item) for item in chosen]
        return tuple(found)

    def _incident(self, field: str, item: dict) -> str:
        schema = self.policy.subject.field(field)
        rtype = self.policy.records.get(getattr(schema, "element", ""), None)
        fields = rtype.fields if rtype is not None else [(k, None) for k in item]
        dates = [self._val(item.get(n), t) for n, t in fields if isinstance(item.get(n), date)]
        key = item.get(getattr(rtype, "key", None)) if rtype is not None else None
        what = self._n(rtype_name) if (rtype_name := getattr(schema, "element", None)) else self._n(field)
        head = " ".join(dates) or "—"
        tail = " ".join(p for p in [what, str(key) if key else ""] if p)
        return f"{head}:{tail}" if self.lang == "zh" else f"{head}: {tail}"

    def _aggregates(self, name: str) -> list:
        """The aggregates over a list in a node's cone (memoised per node)."""
        found = self._aggs.get(name)
        if found is None:
            self._aggs[name] = []
            node = self.policy.nodes[name]
            found = [x for x in ir.walk(node.body) if isinstance(x, ir.Aggregate)]
            for r in node.reads:
                if r in self.policy.nodes:
                    found += [a for a in self._aggregates(r) if a not in found]
            self._aggs[name] = found
        return found

    def _element_fn(self, x: ir.IExpr):
        fn = self._fns.get(id(x))
        if fn is None:
            fn = self._fns[id(x)] = self.engine.compile_expression(x)
        return fn

    def _node_reasons(self, node: ir.Node, step, v, scope, depth, used, is_dependency) -> tuple[list[Reason], list]:
        """The sentences for one node and the nodes they read (to explain next)."""
        refs: list[str] = []
        out: list[Reason] = []
        track = _Tracker(used, refs)
        src, assumed = self._cites(node.notes), (self._assumed(node.notes))
        if isinstance(node.body, ir.EligibilityBody):
            return self._eligibility_reasons(node, step, v, scope, depth, track), refs
        author = self._author(node.notes, {**scope, "value": scope.get(node.name)}) if is_dependency else None
        if isinstance(node.body, ir.TableBody):
            rows = node.body.rows
            self._has_exceptions = any(r.label is not None for r in rows)
            chosen = next(r for r in rows if r.number == step.row)
            shown = [r for r in rows if r.number < chosen.number and r.condition is not None]
            if node.body.hit == "unique" and chosen.condition is not None:
                shown = []
            prefix = (f"{self._n(node.name)} " if self.lang == "zh" else f"{self._n(node.name)}, ") if is_dependency else ""
            for r in shown:
                text = self._author(r.notes, scope) or self._cond(r.condition, v, track)
                out.append(Reason(prefix + self._row_text(r, text, None), "skipped-row", node.name, depth, (), None,
                                  False))
            if chosen.condition is None:
                text = "其余情形" if self.lang == "zh" else "otherwise"
            else:
                text = self._cond(chosen.condition, v, track)
            text = self._author(chosen.notes, scope) or text
            value = self._wu(node.name, step.value, node.type, self.lang)
            if isinstance(chosen.value, ir.Ref):  # a param or a fact: name it (a param's source is listed below)
                track(chosen.value)
                value = f"{self._n(chosen.value.name)}({value})" if self.lang == "zh" else f"{self._n(chosen.value.name)} ({value})"
            elif not isinstance(chosen.value, ir.Const):
                value = f"{self._subst(chosen.value, v, track)} = {value}"
            row_src = self._cites(chosen.notes) or (src if is_dependency else ())
            row_assumed = (self._assumed(chosen.notes)) or \
                (assumed if is_dependency else None)
            out.append(Reason(prefix + self._row_text(chosen, text, value), "row", node.name, depth, row_src,
                              row_assumed, True))
            for note in track.branches:
                out.append(Reason(note, "branch", node.name, depth + 1))
            track.branches.clear()
            if author:
                out.append(Reason(author, "formula", node.name, depth))
            return [_detailed(r) for r in out], refs
        # a plain fact/outcome: the branches taken, then the formula of the branch taken with its figures
        own = () if not is_dependency else src
        own_assumed = None if not is_dependency else assumed
        prefix = (f"{self._n(node.name)}:" if self.lang == "zh" else f"{self._n(node.name)}: ") if is_dependency else ""
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
        value = self._wu(node.name, step.value, node.type, self.lang)
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
        return [_detailed(r) for r in out], refs
