"""Choosing reasons: for each outcome the branch taken, the row chosen, the conditions that decided, and the facts
those read, recursively."""

from __future__ import annotations

from dataclasses import dataclass

from .. import ir
from ..types import BOOL
from .formatting import _plural, format_date, with_unit
from .model import Figure, OutcomeExplanation, Reason
from .sentences import _Tracker
from .tree import _is_condition


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
