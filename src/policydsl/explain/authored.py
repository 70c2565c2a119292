"""Author templates (`explain LANG "…"`): checked when an Explainer is built, rendered in jinja2's sandbox
with bounds on output size, powers and filter arguments."""

from __future__ import annotations

from collections.abc import Iterable

import jinja2
from jinja2 import meta
from jinja2 import nodes as jnodes
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .. import ir
from ..diagnostics import Diagnostic
from .formatting import format_value

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
