"""Expressions turned into sentences: a comparison as a question with its answer, a formula with its figures
substituted, a value across records with its group, place and tie rule."""

from __future__ import annotations

from .. import ir
from ..types import BOOL, DECIMAL, INT, PERCENT
from .tree import _flatten, _guard_field, _is_condition, _refs


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


def _paren(child: ir.IExpr, op: str, text: str, right: bool) -> str:
    if isinstance(child, ir.BinaryOp):
        mine, theirs = PRECEDENCE[op], PRECEDENCE.get(child.op, 9)
        if theirs < mine or (right and theirs == mine and op in ("sub", "div")):
            return f"({text})"
    if isinstance(child, ir.If):
        return f"({text})"
    return text


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


class SentencesMixin:
    """Expressions turned into sentences with the record's figures (a part of `Explainer`)."""

    def _across_sentence(self, a: ir.Across, v, track) -> str:
        """How a value across records came about, with the figures a reader needs: their own place, the group
        and its size, the line, the tie rule; a share shows the part and the whole."""
        from ..engines.across import Figures
        figures: Figures = self._trace.across.get(a.index) or Figures(a.func, None, ())
        zh, f = self.lang == "zh", figures.get
        for part in (*a.parts(), *((a.amount,) if a.amount is not None else ())):
            for x in ir.walk(part):
                if isinstance(x, ir.Ref):
                    track(x)
        noun = self._n(self.policy.subject.name)
        size = f("size")
        where = ""
        if a.within is not None:
            group = self._val(figures.group, a.within.type, self.lang)
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
                text += (f",百分位排名 {self._val(value, a.type, self.lang)}" if zh else
                         f": percent rank {self._val(value, a.type, self.lang)}")
            if a.func in ("top", "bottom"):
                count, place = f("count"), f("place")
                amount = self._val(self._eval(a.amount, v), a.amount.type, self.lang)
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
            return self._val(x, INT, self.lang) if x is not None else "—"
        if a.func == "apportion":
            total, weights, weight = n(f("total")), n(f("weights")), n(f("weight"))
            quota = f("quota")
            method = _METHOD_WORDS[self.lang][a.method]
            shown = self._val(quota, a.type if quota is None else DECIMAL, self.lang) if quota is not None else "—"
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
        shown = self._val(value, a.type, self.lang)
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
        shown = self._wu(node.name, value, branch.type, self.lang) if node.type == branch.type else \
            self._val(value, branch.type, self.lang)
        if isinstance(branch, ir.Const):
            return f" → {shown}"
        track(branch)
        return f" → {self._n(branch.name)}({shown})" if self.lang == "zh" else f" → {self._n(branch.name)} ({shown})"

    def _formula(self, name: str, expr: ir.IExpr, v, value, type_, track) -> str:
        text = self._text(expr)
        subst = self._subst(expr, v, track)
        if isinstance(expr, ir.Builtin) and expr.func in ("years_between", "months_between", "days_between"):
            text = subst
        parts = [self._n(name), text]
        if subst != text:
            parts.append(subst)
        if self._val(value, type_, self.lang) != subst:
            parts.append(self._wu(name, value, type_, self.lang))
        elif self._unit(name, type_, value, self.lang):
            parts[-1] += self._unit(name, type_, value, self.lang)
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
                scope = w["sep"].join(f"{self._n(g.left.name)} {'为' if self.lang == 'zh' else 'is'} "
                                      f"{self._val(self._eval(g.left, v), g.left.type, self.lang)}"
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
            return f"{self._side(x.left, v, track)} {w[x.op + '_list']} {self._n(x.right.name)}{answer}"
        if isinstance(x, ir.UnaryOp) and x.op == "not":
            inner = bool(self._eval(x.operand, v))
            if isinstance(x.operand, ir.Ref):
                track(x.operand)
                need = w["no"]
                if self.lang == "zh":
                    return f"{self._n(x.operand.name)}?{w['yes'] if inner else w['no']}(须为“{need}”)"
                return f"{self._n(x.operand.name)}? {w['yes'] if inner else w['no']} (must be {need})"
            return f"{w['not']} ({self._cond(x.operand, v, track)})"
        if isinstance(x, ir.Ref):
            track(x)
            return f"{self._n(x.name)}{answer}"
        self._subst(x, v, track)
        return f"{self._text(x)}{answer}"

    def _side(self, x: ir.IExpr, v, track) -> str:
        """An operand of a comparison: a constant as itself, a name with its value, else the expression (value)."""
        if isinstance(x, ir.Const):
            return self._val(x.value, x.type, self.lang)
        value = self._val(self._eval(x, v), x.type, self.lang)
        if isinstance(x, ir.AsOf):
            return f"{self.w['as_of']} {value}"
        if isinstance(x, ir.Ref):
            track(x)
            return f"{self._n(x.name)} {value}"
        self._subst(x, v, track)
        return f"{self._text(x)}({value})" if self.lang == "zh" else f"{self._text(x)} ({value})"

    def _subst(self, x: ir.IExpr, v, track, top: bool = True) -> str:
        """The expression with every name replaced by its value (if/match/aggregates by their result)."""
        if isinstance(x, ir.Const):
            return self._val(x.value, x.type, self.lang)
        if isinstance(x, ir.Ref):
            track(x)
            return self._val(self._eval(x, v), x.type, self.lang)
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
        return self._val(self._eval(x, v), x.type, self.lang)

    def expression_text(self, x: ir.IExpr) -> str:
        """An expression in the reader's words (labels, formatted constants), as the explanations write it; for
        other readers such as comparison reports."""
        return self._text(x)

    def _text(self, x: ir.IExpr, shown_args: tuple[str, str] | None = None) -> str:
        """The expression in words and symbols, without values (the same for every record: memoised)."""
        if shown_args is not None:
            return self._words(x, shown_args)
        found = self._texts.get(id(x))
        if found is None or found[0] is not x:
            found = self._texts[id(x)] = (x, self._words(x, None))
        return found[1]

    def _words(self, x: ir.IExpr, shown_args: tuple[str, str] | None) -> str:
        w, zh = self.w, self.lang == "zh"
        if isinstance(x, ir.Const):
            return self._val(x.value, x.type, self.lang)
        if isinstance(x, (ir.Ref, ir.ElemRef)):
            return self._n(x.name)
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
            return f"{self._n(x.list_name)}[{self._text(x.key)}]"
        if isinstance(x, ir.GetField):
            if isinstance(x.obj, ir.Lookup):  # 职责清单[职责编号].责任 → 职责清单中职责编号对应的责任
                key = self._text(x.obj.key)
                return (f"{self._n(x.obj.list_name)}中{key}对应的{self._n(x.name)}" if zh else
                        f"the {self._n(x.name)} for {key} in {self._n(x.obj.list_name)}")
            return f"{self._text(x.obj)}.{self._n(x.name)}"
        if isinstance(x, ir.ListItems):
            return "[" + w["sep"].join(self._text(i) for i in x.items) + "]"
        if isinstance(x, ir.Across):
            keys = w["sep"].join(self._text(k.expr) for k in x.order)
            within = f",{self._text(x.within)}内" if zh and x.within is not None else (
                f" within {self._text(x.within)}" if x.within is not None else "")
            what = self._text(x.value) if x.value is not None else keys
            return f"{x.func}({what}{within})"
        return "…"
