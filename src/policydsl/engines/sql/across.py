"""Values across records in SQL: ranks, top/bottom, apportionment, pools and aggregates as window functions.

`engines/across.py` states the rules (and computes them for the row engine); this module builds the same values as
sqlglot trees, as projections over the relation of evaluated records. Each value is computed in a few layers:

1. its per-record parts (`ir.Across.parts`), whose errors stop the record (`owner: message`, as the row engine);
2. for apportion and grant, a negative weight or request stops that record only;
3. window functions over the records still standing, `PARTITION BY` (standing, `within`) so that a record that
   failed takes no part, ordered by the `by` keys, then the subject's key (or the input position) — every key and
   the tie-break reversed for `bottom`; group-wide errors (a negative total, a pool, weights adding up to 0, the
   min of no records) stop every member of the group.

Integers that may grow (T·w, running totals of requests) are computed in the dialect's 38-digit integer type.
D'Hondt is not computed in SQL (it hands out places one at a time): it is refused with a message naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlglot import exp

from ... import ir
from ...types import DECIMAL_PLACES, INT, PERCENT, EnumType
from .compile import ORDER, Compiled, ExprCompiler, Scope, Unsupported, as_scale, cast, col, decimal_type, first_error, text

Layer = list[tuple[str, exp.Expression]]


@dataclass
class Checkpoint:
    """A step of the evaluation query: the relation so far becomes the CTE `chain`, then the CTEs `ctes` (which may
    read it) are defined, and the query goes on from `chain`. `views` names the CTEs that only project `chain`
    (an engine that computes each step once need not copy those)."""

    chain: str
    ctes: list[tuple[str, exp.Select]]
    views: tuple[str, ...] = ()


def across_column(index: int) -> str:
    """The column holding the value of the policy's `index`-th value across records."""
    return f"__across_{index}"


@dataclass
class AcrossLayers:
    """The projections computing one value across records, and the error column after them."""

    layers: list[Layer]
    error: str
    scale: int | None
    wide: bool


class AcrossCompiler:
    """Builds the layers of one `ir.Across`; `fresh` names new columns, `error` is the error column before it."""

    def __init__(self, compiler: ExprCompiler, fresh: Callable[[str], str], key_field: str | None):
        self.compiler = compiler
        self.dialect = compiler.dialect
        self.fresh = fresh
        self.key_field = key_field

    def compile(self, a: ir.Across, owner: str, error: str) -> AcrossLayers:
        if a.func == "apportion" and a.method == "dhondt" and self.dialect.name != "duckdb":
            raise Unsupported("apportion by D'Hondt (method dhondt) without 128-bit integers")
        self.a, self.owner, self.layers, self._closed = a, owner, [], True
        scope = Scope(owner)
        parts = {name: self.compiler.compile(x, scope) for name, x in
                 (("value", a.value), ("where", a.where), ("within", a.within)) if x is not None}
        keys = [self.compiler.compile(k.expr, scope) for k in a.order]
        self.parts = {name: self._column(c) for name, c in parts.items()}
        self.part_scales = dict(parts)
        self.keys = []
        for key, c in zip(a.order, keys):
            name = self.fresh("key")
            value = c.value
            if isinstance(key.expr.type, EnumType):
                value = ExprCompiler._rank(value, key.expr.type)  # enums order by their labels' order
            self.pending.append((name, value))
            self.keys.append((name, key.descending))
        part_errors = [c.error for c in [*parts.values(), *keys]]
        self.error = self._fail(error, first_error(*part_errors), layer=self.pending)
        self._flush()
        value, scale, wide = getattr(self, "_" + _FUNCS.get(a.func, "aggregate"))()
        column = across_column(a.index)
        self.pending.append((column, exp.Case(ifs=[exp.If(this=self._standing(), true=value)])))
        self._flush()
        return AcrossLayers(self.layers, self.error, scale, wide)

    # -------------------------------------------------------------------------------------------- helpers
    @property
    def pending(self) -> Layer:
        if not self.layers or self._closed:
            self.layers.append([])
            self._closed = False
        return self.layers[-1]

    _closed = True

    def _flush(self) -> None:
        """Later columns read the ones added so far: start a new layer."""
        self._closed = True

    def _column(self, c: Compiled) -> str:
        name = self.fresh("part")
        self.pending.append((name, c.value))
        return name

    def _fail(self, before: str, error: exp.Expression | None, layer: Layer | None = None) -> str:
        """A new error column: the earlier error, else this one (None: nothing new can fail)."""
        if error is None:
            return before
        name = self.fresh("err")
        (layer if layer is not None else self.pending).append(
            (name, exp.func("COALESCE", col(before), cast(error, "VARCHAR"))))
        self._flush()  # what follows reads whether the record still stands
        return name

    def _message(self, *parts: str | exp.Expression) -> exp.Expression:
        """'owner: …' with figures spliced in as text (`str(int)` and CAST … AS VARCHAR agree)."""
        out: exp.Expression = text(f"{self.owner}: ")
        for p in parts:
            piece = text(p) if isinstance(p, str) else cast(p, "VARCHAR")
            out = exp.DPipe(this=out, expression=piece, safe=True)
        return out

    def _standing(self) -> exp.Expression:
        return exp.Is(this=col(self.error), expression=exp.null())

    def _partition(self) -> list[exp.Expression]:
        found = [self._standing()]
        if "within" in self.parts:
            found.append(col(self.parts["within"]))
        return found

    def _order(self, reverse: bool = False, tiebreak: bool = True, first: list | None = None) -> exp.Order:
        keys = list(first or [])
        keys += [exp.Ordered(this=col(name), desc=descending != reverse, nulls_first=False)
                 for name, descending in self.keys]
        if tiebreak:
            t = col(self.key_field) if self.key_field else col(ORDER)
            keys.append(exp.Ordered(this=t, desc=reverse, nulls_first=False))
        return exp.Order(expressions=keys)

    def _window(self, func: exp.Expression, order: exp.Order | None = None, running: bool = False) -> exp.Window:
        spec = exp.WindowSpec(kind="ROWS", start="UNBOUNDED", start_side="PRECEDING", end="CURRENT ROW") \
            if running else None
        return exp.Window(this=func, partition_by=self._partition(), order=order, spec=spec, over="OVER")

    def _big(self, e: exp.Expression) -> exp.Expression:
        return self.dialect.cast_big(e)

    def _amount(self) -> Compiled:
        """The set-wide figure (params, summaries, constants); its error, if it has one, stops every record."""
        c = self.compiler.compile(self.a.amount, Scope(self.owner))
        if c.error is not None:
            self.error = self._fail(self.error, c.error)
            self._flush()
        return c

    def _rank(self, rule: str | None, reverse: bool = False) -> exp.Expression:
        if rule == "ordinal":
            return self._window(exp.RowNumber(), self._order(reverse))
        func = exp.DenseRank() if rule == "dense" else exp.Rank()
        return self._window(func, self._order(reverse, tiebreak=False))

    def _count(self) -> exp.Expression:
        return self._window(exp.Count(this=exp.Star()))

    # -------------------------------------------------------------------------------------------- functions
    def _rank_value(self):  # rank and percent_rank
        a = self.a
        rank = self.fresh("rank")
        self.pending.append((rank, cast(self._rank(a.ties or "standard"), "BIGINT")))
        if a.func == "rank":
            self._flush()
            return col(rank), None, False
        size = self.fresh("size")
        self.pending.append((size, cast(self._count(), "BIGINT")))
        self._flush()
        one = exp.Literal.number(1)
        ratio = self.compiler._divide(Compiled(exp.Paren(this=exp.Sub(this=col(rank), expression=one))),
                                      Compiled(exp.Paren(this=exp.Sub(this=col(size), expression=one.copy()))),
                                      a, Scope(self.owner), None).value
        zero = cast(exp.Literal.number(0), decimal_type(DECIMAL_PLACES))
        value = exp.Case(ifs=[exp.If(this=exp.EQ(this=col(size), expression=one.copy()), true=zero)],
                         default=ratio)
        return cast(value, decimal_type(DECIMAL_PLACES)), DECIMAL_PLACES, False

    def _top(self):  # top and bottom
        a = self.a
        amount = self._amount()
        rank, size, count = self.fresh("rank"), self.fresh("size"), self.fresh("count")
        self.pending.append((rank, cast(self._rank(a.ties, reverse=a.func == "bottom"), "BIGINT")))
        self.pending.append((size, cast(self._count(), "BIGINT")))
        self._flush()
        if a.amount.type == PERCENT:
            share = exp.Mul(this=as_scale(amount, amount.scale or 0, True), expression=col(size))
            whole = {"up": exp.Ceil(this=share), "down": exp.Floor(this=share)}.get(
                a.rounding, exp.Round(this=share, decimals=exp.Literal.number(0)))
            self.pending.append((count, cast(whole, "BIGINT")))
        else:
            self.pending.append((count, cast(amount.value, "BIGINT")))
        self._flush()
        negative = exp.LT(this=col(count), expression=exp.Literal.number(0))
        message = self._message(f"{a.func}: the number of records, ", col(count), ", is negative")
        self.error = self._fail(self.error, exp.Case(ifs=[exp.If(this=negative, true=message)]))
        self._flush()
        return exp.LTE(this=col(rank), expression=col(count)), None, False

    def _non_negative(self, what: str) -> None:
        """A negative weight or request stops its own record (the others are computed without it)."""
        v = col(self.parts["value"])
        negative = exp.LT(this=v, expression=exp.Literal.number(0))
        message = self._message(f"{self.a.func}: the {what} ", v.copy(), " is negative")
        self.error = self._fail(self.error, exp.Case(ifs=[exp.If(this=negative, true=message)]))
        self._flush()

    def _shares(self, extra: Layer | None = None) -> tuple[str, str]:
        """The total and the group's weights (new columns), with `extra` columns; a negative weight stops its
        record, a negative total or weights adding up to 0 (with places to give) stop the group."""
        self._non_negative("weight")
        total, weights = self.fresh("total"), self.fresh("weights")
        self.pending.append((total, self._big(self._amount().value)))
        self.pending.append((weights, self._big(exp.func("COALESCE", self._window(
            exp.Sum(this=self._big(col(self.parts["value"])))), exp.Literal.number(0)))))
        self.pending.extend(extra or [])
        self._flush()
        t, w = col(total), col(weights)
        zero = exp.Literal.number(0)
        problem = exp.Case(ifs=[
            exp.If(this=exp.LT(this=t, expression=zero),
                   true=self._message("apportion: the total ", t.copy(), " is negative")),
            exp.If(this=exp.and_(exp.EQ(this=w, expression=zero.copy()), exp.GT(this=t.copy(), expression=zero.copy())),
                   true=self._message("apportion: the weights add up to 0, so ", t.copy(), " cannot be shared"))])
        self.error = self._fail(self.error, problem)
        return total, weights

    def _apportion(self):
        """Largest remainder: ⌊T·w/W⌋ each, the places left one each to the largest remainders (ties by order)."""
        if self.a.method == "dhondt":
            return self._dhondt()
        total, weights = self._shares()
        t, w = col(total), col(weights)
        zero = exp.Literal.number(0)
        share = exp.Mul(this=t.copy(), expression=self._big(col(self.parts["value"])))
        divisor = exp.func("NULLIF", w.copy(), zero.copy())
        part, remainder = self.fresh("part"), self.fresh("rem")
        self.pending.append((part, self._big(exp.func("COALESCE", exp.IntDiv(this=share, expression=divisor),
                                                      zero.copy()))))
        self.pending.append((remainder, self._big(exp.func("COALESCE", exp.Mod(this=share.copy(),
                                                                                expression=divisor.copy()),
                                                           zero.copy()))))
        self._flush()
        left, place = self.fresh("left"), self.fresh("place")
        self.pending.append((left, exp.Sub(this=col(total), expression=self._window(exp.Sum(this=col(part))))))
        by_remainder = exp.Ordered(this=col(remainder), desc=True, nulls_first=False)
        self.pending.append((place, self._window(exp.RowNumber(), self._order(first=[by_remainder]))))
        self._flush()
        extra = exp.Case(ifs=[exp.If(this=exp.LTE(this=col(place), expression=col(left)),
                                     true=exp.Literal.number(1))], default=exp.Literal.number(0))
        return cast(exp.Add(this=col(part), expression=extra), "BIGINT"), None, False

    def _dhondt(self):
        """D'Hondt hands the places out one at a time to the largest w / (places so far + 1), ties by the order.
        That is: of all the quotients w/j (j = 1, 2, …), the T largest (ties by the order) each give their record
        a place. A divisor method gives a record fewer than w·(T + n)/W places, so j stops there: about T + 2n
        candidate rows in all. Quotients are compared exactly as ⌊w·10^19 / j⌋ (distinct fractions with j below
        3·10^9 differ by more than 1 there; equal ones are equal)."""
        size, place = self.fresh("size"), self.fresh("place")
        total, weights = self._shares([(size, self._big(self._count())),
                                       (place, self._window(exp.RowNumber(), self._order()))])
        chain, candidates = self.fresh("dhin"), self.fresh("dh")
        w = self._big(col(self.parts["value"], "c"))
        t, n, big_w = col(total, "c"), col(size, "c"), col(weights, "c")
        one = self._big(exp.Literal.number(1))
        ceiling = exp.IntDiv(this=exp.Paren(this=exp.Sub(this=exp.Add(
            this=exp.Mul(this=w, expression=exp.Paren(this=exp.Add(this=t, expression=n))), expression=big_w),
            expression=one)), expression=exp.func("NULLIF", big_w.copy(), self._big(exp.Literal.number(0))))
        bound = exp.func("LEAST", t.copy(), ceiling)
        steps = exp.func("RANGE", exp.Literal.number(1), cast(exp.Add(this=bound, expression=one.copy()), "BIGINT"))
        group = col(self.parts["within"], "c") if "within" in self.parts else exp.Literal.number(0)
        inner = exp.select(exp.alias_(col(ORDER, "c"), "__of", quoted=True), exp.alias_(group, "__grp", quoted=True),
                           exp.alias_(col(place, "c"), "__place", quoted=True), exp.alias_(t.copy(), "__t", quoted=True),
                           exp.alias_(w.copy(), "__w", quoted=True),
                           exp.alias_(exp.Unnest(expressions=[steps]), "__j", quoted=True)).from_(
            exp.to_table(chain).as_("c")).where(exp.and_(exp.Is(this=col(self.error, "c"), expression=exp.null()),
                                                         exp.GT(this=w.copy(), expression=exp.Literal.number(0))))
        quotient = exp.IntDiv(this=exp.Mul(this=col("__w", "q"), expression=self._big(exp.Literal.number(10 ** 19))),
                              expression=col("__j", "q"))
        line = exp.Window(this=exp.RowNumber(), partition_by=[col("__grp", "q")], over="OVER", order=exp.Order(
            expressions=[exp.Ordered(this=quotient, desc=True, nulls_first=False),
                         exp.Ordered(this=col("__place", "q"), nulls_first=False)]))
        ranked = exp.select(col("__of", "q"), col("__t", "q"), exp.alias_(line, "__line", quoted=True)).from_(
            exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier("q"))))
        self.layers.append(Checkpoint(chain, [(candidates, ranked)]))
        self._closed = True
        places = exp.Subquery(this=exp.select(exp.Count(this=exp.Star())).from_(exp.to_table(candidates).as_("d")).where(
            exp.and_(exp.EQ(this=col("__of", "d"), expression=col(ORDER)),
                     exp.LTE(this=col("__line", "d"), expression=col("__t", "d")))))
        return cast(exp.func("COALESCE", places, exp.Literal.number(0)), "BIGINT"), None, False

    def _grant(self):
        """Requests in order from a pool: partial gives min(r, what is left), whole stops at the first that does
        not fit. With S the running total of requests, what is left after a record is max(0, P − S)."""
        self._non_negative("request")
        pool, asked = self.fresh("pool"), self.fresh("asked")
        request = self._big(col(self.parts["value"]))
        self.pending.append((pool, self._big(self._amount().value)))
        self.pending.append((asked, self._big(self._window(exp.Sum(this=request), self._order(), running=True))))
        self._flush()
        p, s = col(pool), col(asked)
        zero = exp.Literal.number(0)
        problem = exp.Case(ifs=[exp.If(this=exp.LT(this=p, expression=zero),
                                       true=self._message("grant: the pool ", p.copy(), " is negative"))])
        self.error = self._fail(self.error, problem)
        r = self._big(col(self.parts["value"]))
        if self.a.method == "partial":
            before = exp.func("GREATEST", exp.Add(this=exp.Sub(this=p.copy(), expression=s.copy()), expression=r),
                              zero.copy())
            after = exp.func("GREATEST", exp.Sub(this=p.copy(), expression=s.copy()), zero.copy())
            granted = exp.Sub(this=before, expression=after)
        else:
            granted = exp.Case(ifs=[exp.If(this=exp.LTE(this=s.copy(), expression=p.copy()), true=r)],
                               default=zero.copy())
        return cast(granted, "BIGINT"), None, False

    def _aggregate(self):
        """count sum min max any all distinct over the records of the group (`where` chooses them)."""
        a = self.a
        f = a.func
        selected = col(self.parts["where"]) if "where" in self.parts else exp.true()
        selected = exp.func("COALESCE", selected, exp.false())
        value = col(self.parts["value"]) if "value" in self.parts else None

        def chosen(v: exp.Expression) -> exp.Expression:
            return exp.Case(ifs=[exp.If(this=selected.copy(), true=v)])

        c = self.part_scales.get("value")
        scale = c.scale if c is not None and c.scale is not None and a.type != INT else None
        if f == "count":
            return cast(self._window(exp.Count(this=chosen(exp.Literal.number(1)))), "BIGINT"), None, False
        if f == "distinct":
            if self.dialect.name == "spark":  # Spark has no DISTINCT in a window: the size of the set of values
                counted = exp.func("SIZE", self._window(exp.func("COLLECT_SET", chosen(value))))
            else:
                counted = self._window(exp.Count(this=exp.Distinct(expressions=[chosen(value)])))
            return cast(counted, "BIGINT"), None, False
        if f in ("any", "all"):
            agg = exp.func("BOOL_OR" if f == "any" else "BOOL_AND", chosen(value))
            return exp.func("COALESCE", self._window(agg), exp.false() if f == "any" else exp.true()), None, False
        if f == "sum":
            total = exp.func("COALESCE", self._window(exp.Sum(this=chosen(value))), exp.Literal.number(0))
            if a.type == INT:
                return cast(total, "BIGINT"), None, False
            return cast(total, decimal_type(scale, True)), scale, True
        count = self.fresh("count")
        self.pending.append((count, self._window(exp.Count(this=chosen(exp.Literal.number(1))))))
        self._flush()
        empty = exp.EQ(this=col(count), expression=exp.Literal.number(0))
        self.error = self._fail(self.error, exp.Case(ifs=[exp.If(
            this=empty, true=self._message(f"{f} of no records ({a.span})"))]))
        self._flush()
        result = self._window((exp.Min if f == "min" else exp.Max)(this=chosen(value)))
        if scale is not None:
            return cast(result, decimal_type(scale, c.wide)), scale, c.wide
        return result, None, False


_FUNCS = {"rank": "rank_value", "percent_rank": "rank_value", "top": "top", "bottom": "top",
          "apportion": "apportion", "grant": "grant"}
