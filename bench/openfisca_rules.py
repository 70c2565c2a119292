"""The benchmark's OpenFisca-Core systems: the same rules as the policies, as minimal tax-benefit systems.

    .venv/bin/python bench/openfisca_rules.py jinyuan --records secretaries.csv --out out.csv
    .venv/bin/python bench/openfisca_rules.py quota --records communities.csv --related 工作者=workers.csv --out out.csv
    .venv/bin/python bench/openfisca_rules.py grids --records communities.csv --related 网格=grids.csv --out out.csv

What a modeller would write with OpenFisca: entities, one `Variable` per input, fact and outcome (a formula over
whole numpy arrays), the policy's params as an OpenFisca `ParameterNode`, enums as OpenFisca `Enum`s; the CSV read
with pandas, one `Simulation`, `calculate` every outcome, the CSV written with pandas in `policydsl run`'s format
(money with two decimals, `true`/`false`, enum labels). Jinyuan has one (person) entity, the secretary. Jiangbei has
two: the worker or the grid is the person and the community the group entity, so that "count the community's
workers where …" is `community.sum(community.members(…))`.

OpenFisca computes with floats, not decimals, and its float variables are numpy float32 (about 7 significant
digits): money is float yuan rounded with `numpy.round(x, 2)` and written as text with two decimals. On the generated data (pay standards in whole
hundreds of yuan) that gives the same fen as the engine; with arbitrary fen an amount near a half fen can round a
fen the other way. So the benchmark compares OpenFisca's output with the engine's numerically (amounts within 2
fen, counts exactly), not as text. The Jiangbei quota rounds population × 21.4 / 10,000 half up; in floats
25,000 × 21.4 / 10,000 is 53.49999999999999 and would round to 53, so that formula works in integers
(population × 214, whole tenths of the param), as a careful modeller would.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy
import pandas
from openfisca_core.entities import build_entity
from openfisca_core.indexed_enums import Enum
from openfisca_core.parameters import ParameterNode
from openfisca_core.periods import DateUnit
from openfisca_core.simulations import SimulationBuilder
from openfisca_core.taxbenefitsystems import TaxBenefitSystem
from openfisca_core.variables import Variable

PERIOD = "2024"
SINCE = "2022-01-01"


def _params(tree: dict) -> ParameterNode:
    def node(d):
        return {k: node(v) if isinstance(v, dict) else {"values": {SINCE: {"value": v}}} for k, v in d.items()}
    return ParameterNode("", data=node(tree))


def _var(name: str, entity, value_type, formula=None, enum=None, doc: str = "") -> type:
    """A Variable class (one per input, fact and outcome), defined per year."""
    attrs = {"value_type": value_type, "entity": entity, "definition_period": DateUnit.YEAR, "label": doc or name}
    if enum is not None:
        attrs["possible_values"] = enum
        attrs["default_value"] = next(iter(enum))
    if formula is not None:
        attrs["formula"] = formula  # OpenFisca reads the plain function from the class dict
    return type(name, (Variable,), attrs)


def _enum(name: str, labels: list[str]) -> type:
    return Enum(name, [(label, label) for label in labels])


def _codes(column: pandas.Series, enum: type, what: str) -> numpy.ndarray:
    labels = [item.name for item in enum]
    codes = pandas.Categorical(column, categories=labels).codes
    if (codes < 0).any():
        bad = column[codes < 0].iloc[0]
        raise SystemExit(f"{what}: unknown label {bad!r}")
    return codes.astype(numpy.int16)


def _as_text(values: numpy.ndarray, kind: str):
    if kind == "money":
        return numpy.round(values.astype(numpy.float64), 2)  # written with float_format="%.2f"
    if kind == "bool":
        return numpy.where(values, "true", "false")
    if kind == "enum":
        return numpy.asarray(values.decode_to_str())
    return values.astype(numpy.int64)


def _write(out: Path, key: str, ids, columns: dict[str, object]) -> None:
    frame = pandas.DataFrame({key: ids, **columns})
    frame.to_csv(out, index=False, float_format="%.2f", lineterminator="\n", encoding="utf-8")


class _Clock:
    """Wall time of each phase (read, simulate, write), printed for the benchmark's table."""

    def __init__(self) -> None:
        self.t = time.perf_counter()
        self.laps: list[tuple[str, float]] = []

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps.append((name, now - self.t))
        self.t = now

    def __str__(self) -> str:
        return "phases: " + ", ".join(f"{name} {secs:.1f} s" for name, secs in self.laps)


def _bool(series: pandas.Series) -> numpy.ndarray:
    mapped = series.map({"true": True, "false": False})
    if mapped.isna().any():
        raise SystemExit(f"{series.name}: not true/false: {series[mapped.isna()].iloc[0]!r}")
    return mapped.to_numpy(dtype=bool)


# ================================================================================================ Jinyuan

村社类型 = _enum("村社类型", ["行政村", "城镇社区"])
考核等次 = _enum("考核等次", ["优秀", "称职", "基本称职", "不称职"])
学历 = _enum("学历", ["初中", "高中", "中专", "大专", "本科", "研究生"])  # ordered, lowest first
星级运用方式 = _enum("星级运用方式", ["可推荐事业编", "常规管理", "诫勉督促"])

JINYUAN_PARAMS = {"jinyuan": {
    "年度考核优秀星": 2, "年度考核称职星": 1, "荣誉星上限": 2, "任职年限一星门槛": 5, "任职年限两星门槛": 10,
    "增收致富门槛": 0.10, "星级上限": 7, "基础工资比例": 0.60, "绩效工资比例": 0.40, "每星奖励": 1000.0,
    "学历提升星奖励": 1000.0, "集体经济一次性奖励": 2000.0, "每星养老补助": 100.0, "养老补助年度上限": 600.0,
    "离任月补贴基数": 300.0, "每星离任月补贴": 40.0, "任期增星门槛": 5, "任期增星月补贴加发": 50.0,
    "高星门槛": 5, "低星门槛": 1,
    "星级绩效系数": {"五星": 1.00, "三星": 0.80, "一星": 0.60, "零星": 0.40},
}}

# (column, OpenFisca type, enum) of the record 党组织书记 that the rules read
JINYUAN_INPUTS = [
    ("村社类型", Enum, 村社类型), ("年度考核", Enum, 考核等次), ("荣誉数", int, None), ("任职年限", int, None),
    ("集体经济增幅", float, None), ("突出贡献", bool, None), ("学历", Enum, 学历), ("上年学历", Enum, 学历),
    ("负面情形数", int, None), ("严重问题", bool, None), ("上年星级", int, None), ("初评星级", int, None),
    ("年报酬标准", float, None), ("正常离任", bool, None),
]
# the outcomes policydsl writes, in its column order, with how each is written
JINYUAN_OUTCOMES = [
    ("星级", "int"), ("星级变化", "int"), ("基础工资", "money"), ("绩效工资", "money"), ("星级奖励", "money"),
    ("学历提升奖励", "money"), ("集体经济奖励", "money"), ("年度报酬合计", "money"), ("养老保险星级补助", "money"),
    ("任期增星", "int"), ("离任月补贴", "money"), ("离任保留待遇", "bool"), ("星级运用", "enum"),
]


def _rank(enum_array) -> numpy.ndarray:
    return numpy.asarray(enum_array).view(numpy.ndarray).astype(numpy.int16)


def jinyuan_system() -> TaxBenefitSystem:
    secretary = build_entity("secretary", "secretaries", "村社党组织书记", is_person=True)
    tbs = TaxBenefitSystem([secretary])
    tbs.parameters = _params(JINYUAN_PARAMS)
    v = []
    for name, kind, enum in JINYUAN_INPUTS:
        v.append(_var(name, secretary, kind, enum=enum))

    def p(period, parameters):
        return parameters(period).jinyuan

    def 年度考核星(s, period, parameters):
        g = s("年度考核", period)
        return numpy.select([g == 考核等次.优秀, g == 考核等次.称职],
                            [p(period, parameters).年度考核优秀星, p(period, parameters).年度考核称职星], 0)

    def 荣誉奖励星(s, period, parameters):
        return numpy.minimum(s("荣誉数", period), p(period, parameters).荣誉星上限)

    def 任职年限星(s, period, parameters):
        y, q = s("任职年限", period), p(period, parameters)
        return numpy.select([y >= q.任职年限两星门槛, y >= q.任职年限一星门槛], [2, 1], 0)

    def 基础星级(s, period):
        return s("年度考核星", period) + s("荣誉奖励星", period) + s("任职年限星", period)

    def 增收致富星(s, period, parameters):
        return (s("集体经济增幅", period) >= p(period, parameters).增收致富门槛).astype(int)

    def 突出贡献星(s, period):
        return s("突出贡献", period).astype(int)

    def 学历提升星(s, period):
        return (_rank(s("学历", period)) > _rank(s("上年学历", period))).astype(int)

    def 增星(s, period):
        return s("增收致富星", period) + s("突出贡献星", period) + s("学历提升星", period)

    def 星级(s, period, parameters):
        raw = s("基础星级", period) + s("增星", period) - s("负面情形数", period)
        return numpy.where(s("严重问题", period), 0, numpy.clip(raw, 0, p(period, parameters).星级上限))

    def 星级变化(s, period):
        return s("星级", period) - s("上年星级", period)

    def 是村书记(s, period):
        return s("村社类型", period) == 村社类型.行政村

    def 基础工资(s, period, parameters):
        pay = s("年报酬标准", period)
        return numpy.round(numpy.where(s("是村书记", period), pay * p(period, parameters).基础工资比例, pay), 2)

    def 星级绩效系数(s, period, parameters):
        stars, k = s("星级", period), p(period, parameters).星级绩效系数
        return numpy.select([stars >= 5, stars >= 3, stars >= 1], [k.五星, k.三星, k.一星], k.零星)

    def 绩效工资(s, period, parameters):
        x = s("年报酬标准", period) * p(period, parameters).绩效工资比例 * s("星级绩效系数", period)
        return numpy.where(s("是村书记", period), numpy.round(x, 2), 0.0)

    def 星级奖励(s, period, parameters):
        return numpy.maximum(0, s("星级变化", period)) * p(period, parameters).每星奖励

    def 学历提升奖励(s, period, parameters):
        return s("学历提升星", period) * p(period, parameters).学历提升星奖励

    def 集体经济奖励(s, period, parameters):
        q = p(period, parameters)
        return numpy.where(s("是村书记", period) * (s("集体经济增幅", period) >= q.增收致富门槛),
                           q.集体经济一次性奖励, 0.0)

    def 年度报酬合计(s, period):
        return numpy.round(s("基础工资", period) + s("绩效工资", period) + s("星级奖励", period)
                           + s("学历提升奖励", period) + s("集体经济奖励", period), 2)

    def 养老保险星级补助(s, period, parameters):
        q = p(period, parameters)
        return numpy.minimum(s("星级", period) * q.每星养老补助, q.养老补助年度上限)

    def 任期增星(s, period):
        return s("星级", period) - s("初评星级", period)

    def 离任月补贴(s, period, parameters):
        q = p(period, parameters)
        extra = numpy.where(s("任期增星", period) >= q.任期增星门槛, q.任期增星月补贴加发, 0.0)
        amount = q.离任月补贴基数 + s("星级", period) * q.每星离任月补贴 + extra
        return numpy.where(s("是村书记", period) * s("正常离任", period), amount, 0.0)

    def 离任保留待遇(s, period, parameters):
        return (~s("是村书记", period)) * s("正常离任", period) * (s("星级", period) >= p(period, parameters).高星门槛)

    def 星级运用(s, period, parameters):
        stars, q = s("星级", period), p(period, parameters)
        return numpy.select([(stars >= q.高星门槛) * (s("年度考核", period) == 考核等次.优秀), stars <= q.低星门槛],
                            [星级运用方式.可推荐事业编, 星级运用方式.诫勉督促], 星级运用方式.常规管理)

    facts = [(年度考核星, int), (荣誉奖励星, int), (任职年限星, int), (基础星级, int), (增收致富星, int),
             (突出贡献星, int), (学历提升星, int), (增星, int), (星级, int), (星级变化, int), (是村书记, bool),
             (基础工资, float), (星级绩效系数, float), (绩效工资, float), (星级奖励, float), (学历提升奖励, float),
             (集体经济奖励, float), (年度报酬合计, float), (养老保险星级补助, float), (任期增星, int),
             (离任月补贴, float), (离任保留待遇, bool)]
    for fn, kind in facts:
        v.append(_var(fn.__name__, secretary, kind, formula=fn))
    v.append(_var("星级运用", secretary, Enum, formula=星级运用, enum=星级运用方式))
    tbs.add_variables(*v)
    return tbs


def run_jinyuan(records: Path, related: dict[str, Path], out: Path) -> None:
    clock = _Clock()
    text = {name for name, kind, _ in JINYUAN_INPUTS if kind in (Enum, bool)} | {"编号", "集体经济增幅"}
    frame = pandas.read_csv(records, usecols=["编号"] + [n for n, _, _ in JINYUAN_INPUTS],
                            dtype=dict.fromkeys(text, str), keep_default_na=False, encoding="utf-8")
    clock.lap("read")
    tbs = jinyuan_system()
    sim = SimulationBuilder().build_default_simulation(tbs, len(frame))
    for name, kind, enum in JINYUAN_INPUTS:
        column = frame[name]
        if name == "集体经济增幅":
            values = column.str.rstrip("%").astype(float).to_numpy() / 100
        elif kind is Enum:
            values = _codes(column, enum, name)
        elif kind is bool:
            values = _bool(column)
        else:
            values = column.to_numpy()
        sim.set_input(name, PERIOD, values)
    columns = {name: _as_text(sim.calculate(name, PERIOD), how) for name, how in JINYUAN_OUTCOMES}
    clock.lap("simulate")
    _write(out, "编号", frame["编号"].to_numpy(), columns)
    clock.lap("write")
    print(clock)


# ================================================================================================ Jiangbei

岗位 = _enum("岗位", ["书记", "主任", "副主任", "委员", "秘书", "专职工作者", "辅警", "网格员", "其他"])
周转情形 = _enum("周转情形", ["无周转情形", "融合型大社区建设", "阶段性重点工作", "区划调整", "开发新建", "撤并整合",
                         "规模类型较大变化"])
员额状态 = _enum("员额状态", ["缺员", "满员", "超员"])
网格核查结果 = _enum("网格核查结果", ["偏少", "符合", "偏多"])

JIANGBEI_PARAMS = {"jiangbei": {"每万人员额": 21.4, "周转员额总数": 20, "单社区周转上限": 2,
                                "网格最少户数": 300, "网格最多户数": 500, "微网格最少户数": 50, "微网格最多户数": 80}}


def _jiangbei_entities(person_key: str, person_plural: str):
    person = build_entity(person_key, person_plural, person_key, is_person=True)
    community = build_entity("community", "communities", "江北社区",
                             roles=[{"key": "member", "plural": "members", "label": "属于该社区"}])
    return person, community


def _half_up_quota(population: numpy.ndarray, per_10k: float) -> numpy.ndarray:
    tenths = round(per_10k * 10)  # 21.4 per 10,000 = 214 per 100,000, exactly
    return (population.astype(numpy.int64) * tenths + 50_000) // 100_000


def _largest_remainder(population: numpy.ndarray, per_10k: float, codes: numpy.ndarray) -> numpy.ndarray:
    """The policy's 基础员额: the district's places, round(Σ 常住人口 × 21.4 / 10,000) half up, shared in proportion
    to population by the largest remainder (⌊T·w/W⌋ each, one more to the largest remainders T·w mod W; ties to
    the larger community, then the lower code)."""
    weights = population.astype(numpy.int64)
    whole = int(weights.sum())
    total = (whole * round(per_10k * 10) + 50_000) // 100_000
    if whole == 0:
        return numpy.zeros(len(weights), dtype=numpy.int64)
    floor, remainder = numpy.divmod(total * weights, whole)
    order = numpy.lexsort((codes, -weights, -remainder))  # the last key sorts first
    extra = numpy.zeros(len(weights), dtype=numpy.int64)
    extra[order[:total - int(floor.sum())]] = 1
    return floor + extra


def _pool(ask: numpy.ndarray, pool: int, situation: numpy.ndarray, population: numpy.ndarray,
          codes: numpy.ndarray) -> numpy.ndarray:
    """The policy's 周转员额: the pool served in the order the situations are listed, then the larger community,
    then the lower code; each gets what it asks for while the pool lasts, the last what is left."""
    order = numpy.lexsort((codes, -population.astype(numpy.int64), situation))
    before = numpy.zeros(len(ask), dtype=numpy.int64)
    before[order] = numpy.cumsum(ask[order]) - ask[order]
    return numpy.minimum(ask, numpy.maximum(0, pool - before))


def quota_system() -> TaxBenefitSystem:
    worker, community = _jiangbei_entities("worker", "workers")
    tbs = TaxBenefitSystem([worker, community])
    tbs.parameters = _params(JIANGBEI_PARAMS)
    member = community.MEMBER
    v = [_var("岗位", worker, Enum, enum=岗位), _var("常住人口", community, int), _var("上年常住人口", community, int),
         _var("周转情形", community, Enum, enum=周转情形), _var("申请周转员额", community, int)]

    def 计入员额(w, period):
        post = w("岗位", period)
        return ((post == 岗位.书记) + (post == 岗位.主任) + (post == 岗位.副主任) + (post == 岗位.委员)
                + (post == 岗位.专职工作者) + (post == 岗位.网格员)) > 0

    def 基础员额(c, period, parameters):
        return _largest_remainder(c("常住人口", period), parameters(period).jiangbei.每万人员额, c.ids)

    def 上年基础员额(c, period, parameters):
        return _half_up_quota(c("上年常住人口", period), parameters(period).jiangbei.每万人员额)

    def 员额年度调整(c, period):
        return c("基础员额", period) - c("上年基础员额", period)

    def 周转员额(c, period, parameters):
        p = parameters(period).jiangbei
        situation = c("周转情形", period)
        ask = numpy.where(situation == 周转情形.无周转情形, 0, numpy.minimum(c("申请周转员额", period),
                                                                        p.单社区周转上限))
        return _pool(ask, int(p.周转员额总数), situation.view(numpy.ndarray), c("常住人口", period), c.ids)

    def 核定员额(c, period):
        return c("基础员额", period) + c("周转员额", period)

    def 实有员额人数(c, period):
        return c.sum(c.members("计入员额", period), role=member)

    def 缺额(c, period):
        return numpy.maximum(0, c("核定员额", period) - c("实有员额人数", period))

    def 超额(c, period):
        return numpy.maximum(0, c("实有员额人数", period) - c("核定员额", period))

    def 员额状态_(c, period):
        have, quota = c("实有员额人数", period), c("核定员额", period)
        return numpy.select([have < quota, have == quota], [员额状态.缺员, 员额状态.满员], 员额状态.超员)

    v.append(_var("计入员额", worker, bool, formula=计入员额))
    for fn in (基础员额, 上年基础员额, 员额年度调整, 周转员额, 核定员额, 实有员额人数, 缺额, 超额):
        v.append(_var(fn.__name__, community, int, formula=fn))
    v.append(_var("员额状态", community, Enum, formula=员额状态_, enum=员额状态))
    tbs.add_variables(*v)
    return tbs


def grids_system() -> TaxBenefitSystem:
    grid, community = _jiangbei_entities("grid", "grids")
    tbs = TaxBenefitSystem([grid, community])
    tbs.parameters = _params(JIANGBEI_PARAMS)
    member = community.MEMBER
    v = [_var("网格户数", grid, int), _var("户数", community, int), _var("微网格数", community, int)]

    def q(period, parameters):
        return parameters(period).jiangbei

    def 应设网格数最少(c, period, parameters):
        return numpy.maximum(1, numpy.ceil(c("户数", period) / q(period, parameters).网格最多户数))

    def 应设网格数最多(c, period, parameters):
        return numpy.maximum(c("应设网格数最少", period),
                             numpy.floor(c("户数", period) / q(period, parameters).网格最少户数))

    def 实有网格数(c, period):
        return c.sum(numpy.ones(c.members.count), role=member)

    def 超规模网格数(c, period, parameters):
        return c.sum(c.members("网格户数", period) > q(period, parameters).网格最多户数, role=member)

    def 过小网格数(c, period, parameters):
        return c.sum(c.members("网格户数", period) < q(period, parameters).网格最少户数, role=member)

    def 应设微网格数最少(c, period, parameters):
        return numpy.maximum(1, numpy.ceil(c("户数", period) / q(period, parameters).微网格最多户数))

    def 应设微网格数最多(c, period, parameters):
        return numpy.maximum(c("应设微网格数最少", period),
                             numpy.floor(c("户数", period) / q(period, parameters).微网格最少户数))

    def _check(have, lo, hi):
        return numpy.select([have < lo, have <= hi], [网格核查结果.偏少, 网格核查结果.符合], 网格核查结果.偏多)

    def 网格数核查(c, period):
        return _check(c("实有网格数", period), c("应设网格数最少", period), c("应设网格数最多", period))

    def 微网格数核查(c, period):
        return _check(c("微网格数", period), c("应设微网格数最少", period), c("应设微网格数最多", period))

    for fn in (应设网格数最少, 应设网格数最多, 实有网格数, 超规模网格数, 过小网格数, 应设微网格数最少, 应设微网格数最多):
        v.append(_var(fn.__name__, community, int, formula=fn))
    for fn in (网格数核查, 微网格数核查):
        v.append(_var(fn.__name__, community, Enum, formula=fn, enum=网格核查结果))
    tbs.add_variables(*v)
    return tbs


def _group_simulation(tbs: TaxBenefitSystem, person_key: str, community_ids: numpy.ndarray,
                      person_ids: numpy.ndarray, person_community: numpy.ndarray):
    builder = SimulationBuilder()
    builder.create_entities(tbs)
    builder.declare_person_entity(person_key, person_ids)
    communities = builder.declare_entity("community", community_ids)
    builder.join_with_persons(communities, person_community, numpy.zeros(len(person_ids), dtype=numpy.int64))
    # join_with_persons assumes every community has a member; map each person to its community's index directly
    order = numpy.argsort(community_ids, kind="stable")
    pos = numpy.searchsorted(community_ids[order], person_community)
    pos = numpy.minimum(pos, len(order) - 1)
    index = order[pos]
    unknown = community_ids[index] != person_community
    if unknown.any():
        raise SystemExit(f"{person_key} {person_ids[unknown][0]}: unknown community {person_community[unknown][0]}")
    communities.members_entity_id = index
    return builder.build(tbs)


def run_quota(records: Path, related: dict[str, Path], out: Path) -> None:
    clock = _Clock()
    frame = pandas.read_csv(records, usecols=["编码", "常住人口", "上年常住人口", "周转情形", "申请周转员额"],
                            dtype={"编码": str, "周转情形": str}, keep_default_na=False, encoding="utf-8")
    workers = pandas.read_csv(related["工作者"], usecols=["编号", "社区编码", "岗位"], dtype=str,
                              keep_default_na=False, encoding="utf-8")
    clock.lap("read")
    tbs = quota_system()
    sim = _group_simulation(tbs, "worker", frame["编码"].to_numpy(dtype=str), workers["编号"].to_numpy(dtype=str),
                            workers["社区编码"].to_numpy(dtype=str))
    sim.set_input("岗位", PERIOD, _codes(workers["岗位"], 岗位, "岗位"))
    for name in ("常住人口", "上年常住人口", "申请周转员额"):
        sim.set_input(name, PERIOD, frame[name].to_numpy())
    sim.set_input("周转情形", PERIOD, _codes(frame["周转情形"], 周转情形, "周转情形"))
    outcomes = [("基础员额", "int"), ("上年基础员额", "int"), ("员额年度调整", "int"), ("周转员额", "int"),
                ("核定员额", "int"), ("实有员额人数", "int"), ("缺额", "int"), ("超额", "int"), ("员额状态", "enum")]
    columns = {name: _as_text(sim.calculate(name, PERIOD), how) for name, how in outcomes}
    clock.lap("simulate")
    _write(out, "编码", frame["编码"].to_numpy(), columns)
    clock.lap("write")
    print(clock)


def run_grids(records: Path, related: dict[str, Path], out: Path) -> None:
    clock = _Clock()
    frame = pandas.read_csv(records, usecols=["编码", "户数", "微网格数"], dtype={"编码": str},
                            keep_default_na=False, encoding="utf-8")
    grids = pandas.read_csv(related["网格"], usecols=["编号", "社区编码", "户数"], dtype={"编号": str, "社区编码": str},
                            keep_default_na=False, encoding="utf-8")
    clock.lap("read")
    tbs = grids_system()
    sim = _group_simulation(tbs, "grid", frame["编码"].to_numpy(dtype=str), grids["编号"].to_numpy(dtype=str),
                            grids["社区编码"].to_numpy(dtype=str))
    sim.set_input("网格户数", PERIOD, grids["户数"].to_numpy())
    sim.set_input("户数", PERIOD, frame["户数"].to_numpy())
    sim.set_input("微网格数", PERIOD, frame["微网格数"].to_numpy())
    outcomes = [("实有网格数", "int"), ("网格数核查", "enum"), ("超规模网格数", "int"), ("过小网格数", "int"),
                ("微网格数核查", "enum")]
    columns = {name: _as_text(sim.calculate(name, PERIOD), how) for name, how in outcomes}
    clock.lap("simulate")
    _write(out, "编码", frame["编码"].to_numpy(), columns)
    clock.lap("write")
    print(clock)


SYSTEMS = {"jinyuan": run_jinyuan, "quota": run_quota, "grids": run_grids}


def run(case: str, records: Path, related: dict[str, Path], out: Path) -> None:
    SYSTEMS[case](Path(records), {k: Path(v) for k, v in related.items()}, Path(out))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("case", choices=sorted(SYSTEMS))
    ap.add_argument("--records", required=True, type=Path)
    ap.add_argument("--related", action="append", default=[], metavar="FIELD=FILE")
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args(argv)
    run(args.case, args.records, dict(r.split("=", 1) for r in args.related), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
