"""The evaluation query of a policy whose rules read across records: one query, pass by pass (`graph.stages`).

The row engine evaluates such a policy in passes: each pass evaluates its nodes for every record still standing
(no error so far), then computes its summaries and its values across records over those records. In SQL each pass
is a few projections over the relation of records:

* the pass's nodes, layer by layer (as `PolicyPlan.evaluation` does for a whole policy), then an error column: the
  record's earlier error, else its first failing node of this pass, in evaluation order;
* if a rule reads one of the pass's summaries: the relation so far becomes a CTE (`__chain<p>`), the records
  standing are `__stage<p>` (with `__error`, what a summary's aggregates filter on), and each summary a one-row CTE
  (`__sum<j>`: value, error) that later rules read as a scalar subquery. A summary that fails stops every record
  standing, with the row engine's words;
* each value across records, in index order, as the window layers of `across.AcrossCompiler`; the records it stops
  take no part in the values after it (D'Hondt also makes the relation so far a CTE: its candidate quotients are
  ranked in a CTE of their own, an `across.Checkpoint`).

Error columns are never replaced, only added (`__e<n>`), so the query needs no `* REPLACE` (Spark has none); the
last one is the record's `__error`. `__st<p>` tells whether a record was standing when pass p's summaries were
computed, so the runner reports each summary over exactly those records (as the row engine's context does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlglot import exp

from ... import ir
from ...graph import stages
from .across import AcrossCompiler, Checkpoint
from .compile import Compiled, Unsupported, cast, col, node_error_column, text

if TYPE_CHECKING:
    from .plan import PolicyPlan


class StagedProgram:
    """The steps of the evaluation query (layers of columns and CTE points), compiled once for a plan."""

    def __init__(self, plan: "PolicyPlan"):
        self.plan = plan
        policy = plan.policy
        self.steps: list[list[tuple[str, exp.Expression]] | Checkpoint] = []
        self.standing: dict[int, str] = {}  # pass → its error column when its summaries are computed
        self.summary_stage: dict[str, int] = {}  # summary → the pass after which it is computed
        self._count = 0
        self.error = self.fresh("e")
        self.steps.append([(self.error, cast(exp.null(), "VARCHAR"))])
        owners = {x.index: name for name in plan.order for x in ir.walk(policy.nodes[name].body)
                  if isinstance(x, ir.Across)}
        read_by_rules = {x.name for n in policy.nodes.values() for x in ir.walk(n.body)
                         if isinstance(x, ir.Ref) and x.kind == "summary"}
        self.in_query = _with_reads(policy, read_by_rules)
        plan.compiler.summaries = self.refs = {}
        for p, stage in enumerate(stages(policy, plan.order)):
            self._nodes(list(stage.nodes))
            self.standing[p] = self.error
            self.summary_stage.update((name, p) for name in stage.summaries)
            if stage.summaries:
                self._summaries(p, stage)
            for a in stage.across:
                self._across(a, owners[a.index])

    def fresh(self, what: str) -> str:
        self._count += 1
        return f"__{what}{self._count}"

    # -------------------------------------------------------------------------------------------- compiling
    def _nodes(self, names: list[str]) -> None:
        for name in names:
            self.plan.compile_node(name)
        self.steps.extend(self.plan.node_layers(names))
        errors = [col(node_error_column(n)) for n in names if n in self.plan.failing]
        if errors:
            self._error(exp.func("COALESCE", *errors) if len(errors) > 1 else errors[0])

    def _error(self, new: exp.Expression) -> None:
        """A new error column: the record's earlier error, else `new`."""
        name = self.fresh("e")
        self.steps.append([(name, exp.func("COALESCE", col(self.error), cast(new, "VARCHAR")))])
        self.error = name

    def _summaries(self, p: int, stage) -> None:
        policy = self.plan.policy
        chain = f"__chain{p}"
        staged = exp.select(exp.Star(), exp.alias_(col(self.error, None), "__error", quoted=True)).from_(chain)
        freeze = Checkpoint(chain, [(f"__stage{p}", staged)], views=(f"__stage{p}",))
        failures = []
        for name in stage.summaries:
            if name not in self.in_query:
                continue
            j = len(self.refs)
            query, scale = self.plan.summary_query(name, self.refs, f"__stage{p}")
            freeze.ctes.append((f"__sum{j}", query))
            self.refs[name] = Compiled(_scalar("value", f"__sum{j}"), scale=scale, wide=scale is not None)
            if any(name in node.reads for node in policy.nodes.values()):  # the row engine's rule
                error = _scalar("error", f"__sum{j}")
                message = exp.DPipe(this=exp.DPipe(this=text(f"{name}: the summary could not be computed ("),
                                                   expression=error, safe=True), expression=text(")"), safe=True)
                failures.append(exp.Case(ifs=[exp.If(this=exp.Not(this=exp.Is(this=error.copy(),
                                                                                expression=exp.null())),
                                                     true=message)]))
        if len(freeze.ctes) > 1:
            self.steps.append(freeze)
        if failures:
            self._error(exp.func("COALESCE", *failures) if len(failures) > 1 else failures[0])

    def _across(self, a: ir.Across, owner: str) -> None:
        compiler = AcrossCompiler(self.plan.compiler, self.fresh, self.plan.policy.subject.key)
        try:
            built = compiler.compile(a, owner, self.error)
        except Unsupported as exc:
            raise Unsupported(f"{a.span}: {owner}: the SQL engines cannot run {exc} yet; use --engine row") from None
        self.steps.extend(built.layers)
        self.error = built.error
        self.plan.compiler.across_types[a.index] = (built.scale, built.wide)

    # -------------------------------------------------------------------------------------------- the query
    def evaluation(self, source: exp.Expression, wanted: list[exp.Column]) -> exp.Select:
        """Every node and value across records of every record of `source`, `__error`, and `__st<p>`: one query,
        its steps as CTEs (DuckDB computes each once: MATERIALIZED)."""
        steps, final = self.statements(source, wanted)
        if steps:
            materialized = self.plan.dialect.name == "duckdb"  # each is read more than once: compute it once
            final.set("with_", exp.With(expressions=[_cte(step.name, step.query, materialized) for step in steps]))
        return final

    def statements(self, source: exp.Expression, wanted: list[exp.Column]) -> tuple[list["Step"], exp.Select]:
        """The same evaluation as named steps and a final query reading them by name, for an engine whose CTEs are
        not computed once (Spark inlines a CTE at every reference: a summary read by several rules, over the
        relation so far, re-expands every layer below it at each reading, and the analyser and the code generator
        then work on that expanded plan). Each step reads only `source` and the steps before it."""
        from .plan import _as_source, add_layer
        steps: list[Step] = []
        query: exp.Expression = exp.select(exp.Star()).from_(_as_source(source, "r"))
        for step in self.steps:
            if isinstance(step, Checkpoint):
                steps.append(Step(step.chain, query))
                steps.extend(Step(name, q, view=name in step.views) for name, q in step.ctes)
                query = exp.select(exp.Star()).from_(exp.to_table(step.chain).as_("r"))
            else:
                query = add_layer(query, step)
        flags = [exp.alias_(exp.Is(this=col(error), expression=exp.null()), f"__st{p}", quoted=True)
                 for p, error in self.standing.items()]
        final = exp.select(*wanted, exp.alias_(col(self.error), "__error", quoted=True), *flags).from_(
            exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier("r"))))
        return steps, final


@dataclass(frozen=True)
class Step:
    """One named step of the evaluation (`StagedProgram.statements`); `view`: it only projects an earlier step."""

    name: str
    query: exp.Select
    view: bool = False


def _cte(name: str, query: exp.Expression, materialized: bool) -> exp.CTE:
    return exp.CTE(this=query, alias=exp.TableAlias(this=exp.to_identifier(name)),
                   materialized=True if materialized else None)


def _scalar(column: str, table: str) -> exp.Expression:
    return exp.Subquery(this=exp.select(exp.column(column)).from_(table))


def _with_reads(policy: ir.Policy, names: set[str]) -> set[str]:
    """`names` and every summary they read, transitively (those must be computed inside the query)."""
    found, stack = set(), list(names)
    while stack:
        name = stack.pop()
        if name in found or name not in policy.summaries:
            continue
        found.add(name)
        stack.extend(policy.summaries[name].reads)
    return found
