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

The package's modules, each a part a reader can name: `model` (the frozen dataclasses), `formatting` (values in
the reader's locale), `authored` (author templates in the sandbox), `tree` (questions asked of IR expressions),
`sentences` (expressions → sentences), `reasons` (choosing the reasons of an outcome), `memo` (sentences shared
by the records that read the same values), `suggestions` (searching for what would change a decision), `explainer`
(the builder tying them together), `render` (page templates), `text` (the text page) and `batch` (`explain --all`
output).
"""

from __future__ import annotations

from ..types import BOOL, DATE, DECIMAL, INT, MONEY, PERCENT
from .authored import MAX_FILTER_NUMBER, MAX_TEMPLATE_CHARS, _author_env, template_diagnostics
from .batch import MAX_NAME_BYTES, _summary, file_name, load_inputs, write_all
from .explainer import Explainer, explain, explain_record
from .formatting import LANGS, WORDS, Money, Percent, format_date, format_duration, format_money, format_value, unit_of, with_unit
from .letter import letter_html, letter_pdf
from .model import ExplainError, Explanation, Figure, OutcomeExplanation, Reason, Suggestion
from .render import EXTENSIONS, FORMATS, LABELS, TEMPLATE_DIR, render, render_index
from .suggestions import _STEPS, MAX_CROSSINGS, _move

__all__ = [
    "BOOL", "DATE", "DECIMAL", "EXTENSIONS", "FORMATS", "INT", "LABELS", "LANGS", "MAX_CROSSINGS",
    "MAX_FILTER_NUMBER", "MAX_NAME_BYTES", "MAX_TEMPLATE_CHARS", "MONEY", "PERCENT", "TEMPLATE_DIR",
    "WORDS", "ExplainError", "Explainer", "Explanation", "Figure", "Money", "OutcomeExplanation", "Percent",
    "Reason", "Suggestion", "_STEPS", "_author_env", "_move", "_summary", "explain", "explain_record",
    "file_name", "format_date", "letter_html", "letter_pdf", "format_duration", "format_money", "format_value", "load_inputs", "render",
    "render_index", "template_diagnostics", "unit_of", "with_unit", "write_all",
]
