#!/usr/bin/env python3
"""Synthetic but plausible records for every county policy under policies/.

    python data/generate.py [--seed 2026] [--scale 1] [--out data]

Standard library only. Every county draws from its own random.Random(f"{seed}:{county}"), so the same seed
gives byte-identical files, and one county's numbers do not shift when another county changes.
--scale N multiplies the record counts (for benchmarks); the files written with the defaults are the ones
committed in data/. The deliberately bad files (bad_*.csv) do not scale: they are fixed sets documented
record by record in data/README.md.

Value formats follow the policies' record schemas: dates ISO (2019-03-01), money with two decimals
(35600.00), percent with a % sign (12.5%), bools true/false, enum labels exactly as declared.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力斌宇浩凯鹏晨欣雪梅琳婷波宁海峰云飞燕")
PLACE = list("东西南北上下前后新安和平兴隆福寿长青山水桥河湾坪坡岭峰溪塘石龙凤田家庄园林花竹柳杨马牛")


# ------------------------------------------------------------------------------------------------ helpers

def money(fen: int) -> str:
    """Integer fen → '35600.00'."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def yuan(amount: int) -> str:
    return money(amount * 100)


def pct(tenths: int) -> str:
    """Tenths of a percent → '12.5%' (whole percents without a decimal: '30%')."""
    sign = "-" if tenths < 0 else ""
    tenths = abs(tenths)
    return f"{sign}{tenths // 10}%" if tenths % 10 == 0 else f"{sign}{tenths // 10}.{tenths % 10}%"


def b(flag: bool) -> str:
    return "true" if flag else "false"


def dec1(tenths: int) -> str:
    return f"{tenths // 10}.{tenths % 10}"


def width(n: int) -> int:
    return max(3, len(str(n)))


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


def place(rng: random.Random) -> str:
    return "".join(rng.choice(PLACE) for _ in range(2))


def birth(rng: random.Random, on: date, age_lo: int, age_hi: int) -> date:
    """A birth date giving an age (whole years at `on`) between age_lo and age_hi."""
    age = rng.randint(age_lo, age_hi)
    start = date(on.year - age - 1, on.month, on.day) + timedelta(days=1)
    return start + timedelta(days=rng.randint(0, 364))


def weighted(rng: random.Random, pairs: list[tuple[object, int]]):
    labels, weights = zip(*pairs)
    return rng.choices(labels, weights=weights)[0]


def split(rng: random.Random, total: int, parts: int, jitter: float = 0.25) -> list[int]:
    """`total` split into `parts` positive integers of roughly equal size (largest remainders get the rest)."""
    if parts <= 0:
        return []
    raw = [1 + rng.uniform(-jitter, jitter) for _ in range(parts)]
    s = sum(raw)
    exact = [total * r / s for r in raw]
    out = [max(1, int(x)) for x in exact]
    by_remainder = sorted(range(parts), key=lambda i: exact[i] - int(exact[i]), reverse=True)
    i = 0
    while sum(out) < total:
        out[by_remainder[i % parts]] += 1
        i += 1
    while sum(out) > total:  # only when total < parts forced some ones up
        j = max(range(parts), key=lambda k: out[k])
        out[j] -= 1
    return out


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for row in rows:
        assert len(row) == len(header), (path, row)
        w.writerow(row)
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")


EDU = ["初中", "高中", "中专", "大专", "本科", "研究生"]
GRADES = ["优秀", "称职", "基本称职", "不称职"]


def grade(rng: random.Random) -> str:
    return weighted(rng, [("优秀", 18), ("称职", 70), ("基本称职", 9), ("不称职", 3)])


# ================================================================================================ Jinyuan

def jinyuan(out: Path, seed: int, scale: int) -> None:
    """76 sitting village/community party secretaries (seed 002), for policies/jinyuan/star_rating.policy."""
    rng = random.Random(f"{seed}:jinyuan")
    n = 76 * scale
    w = width(n)
    header = ["编号", "姓名", "村社类型", "年度考核", "荣誉数", "任职年限", "集体经济增幅", "突出贡献", "学历", "上年学历",
              "负面情形数", "严重问题", "上年星级", "初评星级", "年报酬标准", "正常离任"]
    rows = []
    for i in range(n):
        village = i % 8 != 7  # about one in eight is a community secretary
        edu = weighted(rng, [("初中", 5), ("高中", 20), ("中专", 15), ("大专", 35), ("本科", 22), ("研究生", 3)])
        prev_edu = edu
        if EDU.index(edu) > 0 and rng.random() < 0.12:  # upgraded education this year (学历提升星)
            prev_edu = EDU[EDU.index(edu) - rng.choice((1, 1, 2)) if EDU.index(edu) > 1 else 0]
        prev_star = rng.randint(0, 6)
        initial = max(0, prev_star - rng.randint(0, 3))
        pay = 50580 if village and rng.random() < 0.3 else (rng.randint(400, 500) * 100 if village else rng.randint(780, 960) * 100)
        rows.append([
            f"JY{i + 1:0{w}d}", person(rng), "行政村" if village else "城镇社区", grade(rng),
            weighted(rng, [(0, 50), (1, 30), (2, 14), (3, 6)]), rng.randint(0, 22),
            pct(rng.randint(-80, 300)), b(rng.random() < 0.1), edu, prev_edu,
            weighted(rng, [(0, 75), (1, 15), (2, 7), (3, 3)]), b(rng.random() < 0.02),
            prev_star, initial, yuan(pay), b(rng.random() < 0.08),
        ])
    # Rows that every branch needs, whatever the draw (fixed positions, same at every scale).
    rows[0][3:14] = ["优秀", 3, 12, "25.0%", "true", "本科", "大专", 0, "false", 1, 0]       # 7 stars (capped), 可推荐事业编
    rows[0][15] = "true"                                                                 # left office: +50 (gained ≥ 5 since 初评)
    rows[1][3:14] = ["不称职", 0, 1, "-3.5%", "false", "高中", "高中", 2, "false", 3, 2]     # 0 stars, 诫勉督促
    rows[2][3:14] = ["称职", 1, 6, "8.0%", "false", "大专", "大专", 0, "true", 4, 3]        # serious problem: 0 stars
    rows[7][2:14] = ["城镇社区", "优秀", 2, 11, "5.0%", "true", "本科", "本科", 0, "false", 4, 3]  # community secretary, high stars
    rows[7][15] = "true"                                                                 # 离任保留待遇
    rows[3][3:14] = ["称职", 0, 4, "10.0%", "false", "大专", "大专", 0, "false", 2, 2]      # exactly 10%: 增收致富星, one-off reward
    write_csv(out / "jinyuan" / "secretaries.csv", header, rows)


# ================================================================================================ Tancheng

def tancheng(out: Path, seed: int, scale: int) -> None:
    """Tancheng urban communities (seed 002, second article): 51 full-time community workers, 108 grid workers."""
    rng = random.Random(f"{seed}:tancheng")
    n = 17 * scale  # the seed does not give the number of urban communities: 17 is an assumption (3 workers each)
    workers = split(rng, 51 * scale, n, 0.3)
    grids = split(rng, 108 * scale, n, 0.4)
    w = width(n)
    rows = [[f"TC{i + 1:0{w}d}", place(rng) + "社区", workers[i], grids[i]] for i in range(n)]
    write_csv(out / "tancheng" / "communities.csv", ["编码", "名称", "专职社区工作者数", "专职网格员数"], rows)


# ================================================================================================ Longshan

LONGSHAN_AS_OF = date(2019, 3, 1)


def _one_year_after(day: date) -> date:
    """The same day a year later (28 February for a 29 February)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


def _team_score(rank: int, teams: int) -> str:
    """A team's assessment score out of 100 (assumed: the seed gives none), falling from 100 for the best team to
    about 60 for the last, in the order of a shuffled ranking (so the rest of the data is drawn as before)."""
    return str((Decimal(100) - Decimal(40 * (rank - 1)) / teams).quantize(Decimal("0.01")))


def longshan(out: Path, seed: int, scale: int) -> None:
    """397 villages/communities, 1,198 full-time staff, their absences and honours, candidates, office hours."""
    rng = random.Random(f"{seed}:longshan")
    n = 397 * scale
    w = width(n)
    towns = ["民安街道", "华塘街道", "新城街道", "石牌镇", "茨岩塘镇", "里耶镇", "洗车河镇", "苗儿滩镇", "红岩溪镇", "靛房镇",
             "桂塘镇", "召市镇", "洛塔乡", "内溪乡", "咱果乡", "农车乡", "大安乡", "水田坝镇", "湾塘乡", "贾市乡", "石羔街道"]
    villages = []
    ranks = list(range(1, n + 1))
    rng.shuffle(ranks)
    for i in range(n):
        community = i % 15 == 14  # about 26 of 397 are urban communities
        code = f"LS{i + 1:0{w}d}"
        villages.append([code, place(rng) + ("社区" if community else "村"), "城镇社区" if community else "行政村",
                         towns[i % len(towns)], b(rng.random() < 0.3), _team_score(ranks[i], n)])
    write_csv(out / "longshan" / "villages.csv", ["编码", "名称", "类型", "乡镇", "实现十无", "班子考核得分"], villages)

    # Staff: 书记 + 秘书 + 辅警 in each unit (1,191), 5 × scale units lacking their 辅警, 12 × scale with a second
    # 秘书 or 辅警 (the seed's 1,198 selected).
    lacking = set(rng.sample(range(n), 5 * scale))
    extra = set(rng.sample([i for i in range(n) if i not in lacking], 12 * scale))
    header = ["编号", "姓名", "社区编码", "岗位", "出生日期", "学历", "年度考核", "上年职级", "任职年限", "月绩效工资",
              "年度培训天数", "个人养老保险缴费", "个人合作医疗缴费", "因公死亡", "正常离任"]
    staff = []
    sw = width(1198 * scale)
    for i, v in enumerate(villages):
        posts = ["书记", "秘书", "辅警"]
        if i in lacking:
            posts.remove("辅警")
        if i in extra:
            posts.append(rng.choice(["秘书", "辅警"]))
        for post in posts:
            age_lo, age_hi = {"书记": (32, 58), "秘书": (23, 38), "辅警": (24, 45)}[post]
            edu = {"书记": [("初中", 8), ("高中", 30), ("中专", 12), ("大专", 38), ("本科", 12)],
                   "秘书": [("高中", 3), ("大专", 74), ("本科", 23)],
                   "辅警": [("高中", 55), ("中专", 20), ("大专", 22), ("本科", 3)]}[post]
            monthly = {"书记": 125000, "秘书": 110000, "辅警": 120000}[post] + rng.randint(-15000, 15000)
            staff.append([f"LSW{len(staff) + 1:0{sw}d}", person(rng), v[0], post,
                          birth(rng, LONGSHAN_AS_OF, age_lo, age_hi).isoformat(), weighted(rng, edu), grade(rng),
                          rng.randint(1, 10), rng.randint(0, 12), money(monthly),
                          weighted(rng, [(3, 6), (4, 10), (5, 50), (6, 20), (7, 10), (8, 4)]),
                          yuan(rng.choice([200, 300, 500, 700, 1000, 2000])), yuan(rng.choice([220, 250, 280])),
                          b(False), b(rng.random() < 0.03)])
    staff[0][13] = "true"  # one death on duty (因公抚恤金)
    staff[1][6:8] = ["优秀", 1]  # clerk at grade 1: pay capped at 42,300
    staff[2][6:8] = ["不称职", 10]  # stays at the lowest grade
    write_csv(out / "longshan" / "staff.csv", header, staff)

    # Absences found by inspection (擅离职守), mostly in 2019; a few in 2018 (not counted in 2019).
    absences = []
    counts = [(1, 60), (2, 15), (3, 6), (4, 2)]
    chosen = rng.sample(range(len(staff)), sum(c for _, c in counts) * scale)
    k = 0
    for times, how_many in counts:
        for _ in range(how_many * scale):
            worker = staff[chosen[k]][0]
            k += 1
            days = sorted(rng.sample(range(0, 365), times))
            for d in days:
                found = date(2019, 1, 1) + timedelta(days=d)
                absences.append([worker, found])
    for _ in range(5 * scale):
        absences.append([staff[rng.randrange(len(staff))][0], date(2018, 1, 1) + timedelta(days=rng.randrange(365))])
    # One of each step already reached by the default evaluation date (2019-03-01): incidents in Jan–Feb.
    for times, idx in ((1, 10), (2, 11), (3, 12)):
        for d in range(times):
            absences.append([staff[idx][0], date(2019, 1, 7) + timedelta(days=14 * d)])
    aw = width(len(absences))
    write_csv(out / "longshan" / "absences.csv", ["记录编号", "干部编号", "发现日期"],
              [[f"LSA{j + 1:0{aw}d}", wk, d.isoformat()] for j, (wk, d) in enumerate(absences)])

    # Team honours (有荣誉), 2018–2019.
    honours = []
    for i in rng.sample(range(n), 90 * scale):
        for _ in range(weighted(rng, [(1, 80), (2, 17), (3, 3)])):
            level = weighted(rng, [("国家级", 2), ("省级", 10), ("州级", 28), ("县级", 60)])
            got = date(2018, 1, 1) + timedelta(days=rng.randrange(730))
            honours.append([villages[i][0], level, got])
    honours.append([villages[0][0], "国家级", date(2019, 2, 20)])  # counted at the default date
    hw = width(len(honours))
    write_csv(out / "longshan" / "honours.csv", ["编号", "社区编码", "级别", "获得日期"],
              [[f"LSH{j + 1:0{hw}d}", c, lv, d.isoformat()] for j, (c, lv, d) in enumerate(honours)])

    # Candidates for the transition phase (eligibility), ages at 2019-03-01.
    # 转正日期 (full membership) is assumed one year after joining: the probation period of the party's constitution
    # (预备期为一年), never extended here.
    header = ["编号", "姓名", "出生日期", "学历", "党员", "入党日期", "转正日期", "拟任岗位", "连任", "特别优秀", "来源类别",
              "有十种情形", "直系亲属在村任职", "联审通过", "政治品行差", "参与宗教迷信", "受过刑事处罚"]
    sources = ["村社区主任", "其他村社区主干", "精准扶贫志愿者", "其他两委成员", "村级后备干部", "其他符合条件人员"]
    cands = []
    nc = 420 * scale
    cw = width(nc)
    for i in range(nc):
        post = weighted(rng, [("书记", 30), ("秘书", 40), ("辅警", 27), ("主任", 3)])
        lo, hi = {"书记": (30, 62), "秘书": (22, 42), "辅警": (22, 50), "主任": (30, 55)}[post]
        born = birth(rng, LONGSHAN_AS_OF, lo, hi)
        member = post == "书记" and rng.random() < 0.96 or rng.random() < 0.35
        joined = born + timedelta(days=rng.randint(18 * 365 + 5, max(18 * 365 + 6, (LONGSHAN_AS_OF - born).days)))
        if member and rng.random() < 0.05:
            joined = LONGSHAN_AS_OF - timedelta(days=rng.randint(30, 360))  # less than a year of membership
        edu = weighted(rng, [("初中", 6), ("高中", 22), ("中专", 12), ("大专", 42), ("本科", 17), ("研究生", 1)])
        # a non-member has no party dates; a member still on probation (joined under a year ago) no 转正日期
        full = _one_year_after(joined) if member and _one_year_after(joined) <= LONGSHAN_AS_OF else None
        cands.append([f"LSC{i + 1:0{cw}d}", person(rng), born.isoformat(), edu, b(member),
                      joined.isoformat() if member else "", full.isoformat() if full else "", post,
                      b(post == "书记" and rng.random() < 0.4), b(post == "秘书" and rng.random() < 0.15),
                      rng.choice(sources), b(rng.random() < 0.03), b(rng.random() < 0.04), b(rng.random() < 0.95),
                      b(rng.random() < 0.01), b(rng.random() < 0.01), b(rng.random() < 0.01)])
    cands[0][2:11] = ["1961-03-01", "高中", "true", "1990-07-01", "1991-07-01", "书记", "true", "false",
                      "其他符合条件人员"]  # re-appointed, exactly 58
    cands[1][2:11] = ["1979-05-10", "大专", "false", "", "", "秘书", "false", "true",
                      "村社区主任"]  # exceptional clerk, 39
    write_csv(out / "longshan" / "candidates.csv", header, cands)

    # Office hours (坐班值守): every unit, two weeks from Monday 2019-03-04 (weekends included).
    rows = []
    days = [date(2019, 3, 4) + timedelta(days=d) for d in range(14)]
    for v in villages:
        floor_h = 60 if v[2] == "行政村" else 70
        for d in days:
            workday = d.weekday() < 5
            if workday:
                hours = floor_h + weighted(rng, [(0, 20), (5, 25), (10, 35), (15, 10), (-5, 6), (-10, 4)])
                people = rng.randint(2, 3)
            else:
                hours = rng.choice([40, 60, 80])
                people = weighted(rng, [(1, 80), (2, 15), (0, 5)])
                if people == 0:
                    hours = 0
            rows.append([f"{v[0]}-{d:%m%d}", v[0], v[2], d.isoformat(), b(workday), dec1(hours), people])
    write_csv(out / "longshan" / "office_hours.csv", ["编号", "社区编码", "村社类型", "日期", "工作日", "坐班小时", "坐班人数"], rows)


# ================================================================================================ Jiangbei

def jiangbei(out: Path, seed: int, scale: int) -> None:
    """137 communities (348,130 residents → 745 quota places), their grids, workers and work items."""
    rng = random.Random(f"{seed}:jiangbei")
    n = 137 * scale
    w = width(n)
    streets = [("01", "中马街道"), ("02", "白沙街道"), ("03", "孔浦街道"), ("04", "文教街道"), ("05", "甬江街道"),
               ("06", "庄桥街道"), ("07", "洪塘街道"), ("08", "慈城镇")]
    kinds = []  # (城乡属性, 主导功能)
    for i in range(n):
        r = i % 137
        kinds.append(("城镇", "产业集聚") if r % 11 == 5 else ("乡村", "农业农村") if r % 5 == 3 else ("城镇", "居住服务"))
    pops = [rng.randint(1200, 3000) if k[1] == "农业农村" else rng.randint(1400, 3600) for k in kinds]
    for i in rng.sample(range(n), 6 * scale):
        pops[i] = rng.randint(6000, 8000)  # a few very large communities (特大社区 by index)
    target = 348130 * scale  # the district total; 348,130 × 21.4 / 10,000 = 744.998 → 745 places
    diff = target - sum(pops)
    order = list(range(n))
    rng.shuffle(order)
    j = 0
    while diff:
        i = order[j % n]
        step = max(-400, min(400, diff))
        if 1000 <= pops[i] + step <= 8000:
            pops[i] += step
            diff -= step
        j += 1
    serial: dict[str, int] = {}
    communities = []
    for i in range(n):
        street_code, street = streets[i % len(streets)] if kinds[i][0] == "城镇" else streets[5 + i % 3]
        serial[street_code] = serial.get(street_code, 0) + 1
        pop = pops[i]
        rural = kinds[i][0] == "乡村"
        households = int(pop / rng.uniform(2.1, 2.8))
        area = rng.randint(30, 120) if not rural else rng.randint(150, 900)  # hundredths of a km²
        if pop >= 6000:
            area = rng.randint(250, 500)
        firms = rng.randint(20, 260) if kinds[i][1] != "产业集聚" else rng.randint(300, 900)
        # Household make-up of urban communities: at most one kind above half (else mixed).
        kind = rng.randrange(4)
        shares = [rng.randint(0, 300) for _ in range(3)]  # tenths of a percent
        if kind < 3:
            shares[kind] = rng.randint(510, 900)
        while sum(shares) > 1000:
            shares[max(range(3), key=lambda s: shares[s] if s != kind else -1)] -= 50
        shares = [max(0, s) for s in shares]
        prev = int(pop * rng.uniform(0.95, 1.04))
        situation = weighted(rng, [("无周转情形", 92), ("融合型大社区建设", 1), ("阶段性重点工作", 2), ("区划调整", 1),
                                   ("开发新建", 2), ("撤并整合", 1), ("规模类型较大变化", 1)])
        ask = 0 if situation == "无周转情形" else rng.randint(1, 2)
        micro_lo, micro_hi = max(1, -(-households // 80)), max(1, households // 50)
        micro = rng.randint(micro_lo, micro_hi) if rng.random() < 0.9 else rng.choice([micro_lo - 1, micro_hi + 2])
        communities.append([f"JB{i + 1:0{w}d}", place(rng) + ("村" if rural else "社区"), street_code,
                            f"{serial[street_code]:03d}", pop, prev, households, f"{area // 100}.{area % 100:02d}",
                            firms, kinds[i][0], kinds[i][1], pct(shares[0]), pct(shares[1]), pct(shares[2]),
                            b(rural and rng.random() < 0.4), max(1, micro), situation, ask])
    header = ["编码", "名称", "街道代码", "社区序号", "常住人口", "上年常住人口", "户数", "面积", "经营主体数", "城乡属性",
              "主导功能", "拆迁安置户占比", "村改居户占比", "商品房户占比", "城镇开发边界内", "微网格数", "周转情形", "申请周转员额"]
    write_csv(out / "jiangbei" / "communities.csv", header, communities)

    # Grids: 300–500 households each where the count allows, a few communities drawn with too few / too many.
    grids = []
    for c in communities:
        households, pop = c[6], c[4]
        lo, hi = max(1, -(-households // 500)), max(max(1, -(-households // 500)), households // 300)
        count = rng.randint(lo, hi)
        r = rng.random()
        if r < 0.05 and lo > 1:
            count = lo - 1
        elif r < 0.10:
            count = hi + 1
        hh = split(rng, households, count, 0.3)
        pp = split(rng, pop, count, 0.05)
        for g in range(count):
            grids.append([f"{c[0]}-G{g + 1:02d}", c[0], pp[g], hh[g]])
    write_csv(out / "jiangbei" / "grids.csv", ["编号", "社区编码", "人口", "户数"], grids)

    # Workers: the quota posts of each community around its base quota (some short, some over), plus clerks.
    header = ["编号", "姓名", "岗位", "社区编码", "学历", "上年学历", "工作年限", "年度考核", "首次定级", "当前等级",
              "职业资格", "本年取得职业资格证书", "本年获市级以上荣誉"]
    workers = []
    ww = width(800 * scale)
    for c in communities:
        quota = int(c[4] * 214 / 100000 + 0.5)
        have = max(2, quota + weighted(rng, [(0, 55), (-1, 20), (-2, 5), (1, 15), (2, 5)]))
        posts = ["书记", "主任"] + [weighted(rng, [("副主任", 15), ("委员", 20), ("专职工作者", 40), ("网格员", 25)])
                                  for _ in range(have - 2)]
        if rng.random() < 0.12:
            posts.append(rng.choice(["秘书", "其他"]))
        for post in posts:
            edu = weighted(rng, [("高中", 6), ("中专", 6), ("大专", 38), ("本科", 45), ("研究生", 5)])
            prev = EDU[EDU.index(edu) - 1] if rng.random() < 0.06 else edu
            years = rng.randint(0, 25)
            first = years == 0 or rng.random() < 0.08
            cert = weighted(rng, [("无资格证书", 35), ("助理社会工作师", 40), ("社会工作师", 22), ("高级社会工作师", 3)])
            workers.append([f"JBW{len(workers) + 1:0{ww}d}", person(rng), post, c[0], edu, prev, years, grade(rng),
                            b(first), rng.randint(1, 18), cert, b(rng.random() < 0.08), b(rng.random() < 0.04)])
    workers[0][4:13] = ["研究生", "本科", 20, "优秀", "false", 17, "高级社会工作师", "true", "true"]  # capped at 18
    workers[1][4:13] = ["研究生", "研究生", 60, "称职", "true", 1, "高级社会工作师", "false", "false"]  # first grading capped
    write_csv(out / "jiangbei" / "workers.csv", header, workers)

    # Work items pushed to communities (admission).
    header = ["编号", "名称", "来源部门", "事项类型", "来源层级", "已列入清单", "依据已修订废止", "有法律法规规章依据",
              "有上级规范性文件要求", "有实际工作需要", "属于部门自身职责", "联席会议审核", "职责交接完成"]
    depts = ["区民政局", "区卫生健康局", "区人力社保局", "区住建局", "区综合行政执法局", "区市场监管局", "区统计局",
             "区应急管理局", "区残联", "区妇联", "区退役军人事务局", "区教育局"]
    streets_names = [s for _, s in streets]
    things = ["居民议事协商", "老年人能力评估", "困难群众走访", "平安创建宣传", "垃圾分类督导", "消防安全巡查", "人口信息采集",
              "残疾人证审核初审", "退役军人信息核查", "文明城市创建测评", "台账材料报送", "政策宣传入户", "专项普查协助",
              "城市管理违章巡查", "建筑垃圾清运"]
    tasks = []
    nt = 260 * scale
    tw = width(nt)
    for i in range(nt):
        listed = rng.random() < 0.55
        level = "区级部门" if rng.random() < 0.75 else "街道镇"
        src = rng.choice(depts) if level == "区级部门" else rng.choice(streets_names) + "办事处"
        kind = weighted(rng, [("自治事项", 20), ("依法履职", 20), ("协助配合", 35), ("上级交办", 25)])
        std = [rng.random() < 0.85, rng.random() < 0.8, rng.random() < 0.9]
        own = not listed and rng.random() < 0.15
        review = "未审核" if listed else weighted(rng, [("未审核", 50), ("审核通过", 35), ("审核不通过", 15)])
        tasks.append([f"JBT{i + 1:0{tw}d}", rng.choice(things), src, kind, level, b(listed),
                      b(listed and rng.random() < 0.06), b(std[0]), b(std[1]), b(std[2]), b(own), review,
                      b(review == "审核通过" and rng.random() < 0.6)])
    write_csv(out / "jiangbei" / "tasks.csv", header, tasks)


# ================================================================================================ Xiang'an

XIANGAN_AS_OF = date(2021, 1, 1)


def xiangan(out: Path, seed: int, scale: int) -> None:
    """98 communities + 30 villages (610,000 residents), 550+ grids, 733 full-time workers, applicants."""
    rng = random.Random(f"{seed}:xiangan")
    towns = ["新店街道", "香山街道", "金海街道", "民安街道", "凤翔街道", "大嶝街道", "马巷街道", "新圩镇", "内厝镇"]
    n = 128 * scale
    w = width(n)
    units = []
    for i in range(n):
        village = i % 128 >= 98
        # Populations sit a little above a whole thousand, so that grids of about 1,000–1,100 residents fit.
        pop = (rng.randint(1, 4) if village else rng.randint(2, 7)) * 1000 + rng.randint(0, 600)
        units.append([f"XA{i + 1:0{w}d}", place(rng) + ("村" if village else "社区"), "行政村" if village else "城镇社区",
                      towns[7 + i % 2] if village else towns[i % 7], pop])
    target = 610000 * scale
    diff = target - sum(u[4] for u in units)
    j = 0
    while abs(diff) >= 1000:  # whole thousands first, then hundreds
        u = units[rng.randrange(n)]
        step = 1000 if diff > 0 else -1000
        lo, hi = (900, 4800) if u[2] == "行政村" else (1500, 8800)
        if lo <= u[4] + step <= hi:
            u[4] += step
            diff -= step
    while diff:
        u = units[j % n]
        step = max(-100, min(100, diff))
        lo, hi = (900, 4800) if u[2] == "行政村" else (1500, 8800)
        if lo <= u[4] + step <= hi and (u[4] + step) % 1000 <= 800:
            u[4] += step
            diff -= step
        j += 1
    write_csv(out / "xiangan" / "communities.csv", ["编码", "名称", "类型", "镇街", "常住人口"], units)

    grids = []
    counted = []  # (code, counted grid number)
    for u in units:
        pop = u[4]
        lo = max(1, -(-pop // 2000))
        hi = max(lo, pop // 1000)
        count = hi
        r = rng.random()
        if r < 0.04 and lo > 1:
            count = lo - 1
        elif r < 0.08:
            count = hi + 1
        pp = split(rng, pop, count, 0.15)
        for g in range(count):
            grids.append([f"{u[0]}-{g + 1:02d}", u[0], pp[g], int(pp[g] / rng.uniform(2.6, 3.3))])
        counted.append(min(hi, max(lo, count)))
    write_csv(out / "xiangan" / "grids.csv", ["编号", "社区编码", "人口", "户数"], grids)

    # 733 full-time workers: one per counted grid, the rest spread; some communities short, some over the cap.
    total = 733 * scale
    per = list(counted)
    short = set(rng.sample(range(n), 6 * scale))
    for i in sorted(short):
        per[i] = max(0, per[i] - 1)  # short
    over = [i for i in rng.sample(range(n), 10 * scale) if i not in short][:4 * scale]
    for i in over:
        per[i] = 2 * counted[i] + 1  # above the assumed cap of two per grid
    left = total - sum(per)
    order = [i for i in range(n) if i not in short and i not in over]
    while left > 0:
        rng.shuffle(order)
        for i in order:
            if left == 0:
                break
            if per[i] < 2 * counted[i] or rng.random() < 0.02:
                per[i] += 1
                left -= 1
    while left < 0:  # more grids than workers at this draw: take back from the largest
        i = max(range(n), key=lambda k: per[k])
        per[i] -= 1
        left += 1
    # This year's bottom ranking is computed by the policy from the quarterly scores; last year's is history.
    header = ["编号", "姓名", "岗位", "社区编码", "社区星级", "年度考核", "上年年度考核", "上年排名末位",
              "违法违纪受处分", "主动辞职"]
    workers = []
    scores = []
    ww = width(1000 * scale)
    for u, k in zip(units, per):
        stars = weighted(rng, [(0, 3), (1, 7), (2, 20), (3, 35), (4, 25), (5, 10)])
        for post in ["书记", "主任"] + ["专职工作者"] * k:
            last = rng.random() < 0.03
            wid = f"XAW{len(workers) + 1:0{ww}d}"
            workers.append([wid, person(rng), post, u[0], stars, grade(rng), grade(rng),
                            b(last and rng.random() < 0.3), b(rng.random() < 0.005), b(rng.random() < 0.02)])
            quarters = weighted(rng, [(4, 88), (3, 5), (2, 4), (0, 3)])
            base = rng.randint(620, 950)
            for q in range(1, quarters + 1):
                scores.append([wid, q, dec1(max(400, min(1000, base + rng.randint(-60, 60))))])
    workers[0][5:10] = ["基本称职", "基本称职", "false", "false", "false"]  # 连续基本称职
    workers[1][5:10] = ["称职", "优秀", "true", "false", "false"]  # 末位淘汰: bottom last year, and this year:
    scores = [[wid, q, "45.0"] if wid == workers[1][0] else [wid, q, score] for wid, q, score in scores]
    sw = width(len(scores))
    write_csv(out / "xiangan" / "workers.csv", header, workers)
    write_csv(out / "xiangan" / "quarterly_scores.csv", ["编号", "工作者编号", "季度", "得分"],
              [[f"XAQ{j + 1:0{sw}d}", *s] for j, s in enumerate(scores)])

    # Applicants to full-time posts (entry).
    header = ["编号", "姓名", "学历", "报考社区编码", "参加统一考试", "笔试成绩", "面试成绩", "考试组织单位", "聘用单位",
              "两委干部近亲属"]
    rows = []
    na = 300 * scale
    aw = width(na)
    for i in range(na):
        u = units[rng.randrange(n)]
        sat = rng.random() < 0.96
        written = rng.randint(400, 950) if sat else 0
        interview = rng.randint(500, 950) if sat else 0
        examiner = "翔安区委组织部" if rng.random() < 0.5 else "翔安区民政局"
        employer = examiner if rng.random() < 0.03 else u[3] + ("办事处" if u[3].endswith("街道") else "人民政府")
        rows.append([f"XAC{i + 1:0{aw}d}", person(rng),
                     weighted(rng, [("高中", 3), ("中专", 2), ("大专", 40), ("本科", 50), ("研究生", 5)]), u[0], b(sat),
                     dec1(written), dec1(interview), examiner, employer, b(rng.random() < 0.03)])
    rows[0][4:7] = ["true", "60.0", "60.0"]  # exactly the pass mark
    write_csv(out / "xiangan" / "candidates.csv", header, rows)


# ================================================================================================ Xinmi

def xinmi(out: Path, seed: int, scale: int) -> None:
    """Communities with urban populations and their workers (staffing), and a stream of incoming tasks (routing)."""
    rng = random.Random(f"{seed}:xinmi")
    towns = ["新华路街道", "西大街街道", "青屏街街道", "城关镇", "米村镇", "牛店镇", "平陌镇", "超化镇", "苟堂镇", "大隗镇",
             "刘寨镇", "白寨镇", "岳村镇", "来集镇", "曲梁镇", "袁庄乡"]
    n = 60 * scale  # the seed does not count Xinmi's communities: 60 units (44 urban, 16 villages) is an assumption
    w = width(n)
    communities = []
    for i in range(n):
        village = i % 60 >= 44
        communities.append([f"XM{i + 1:0{w}d}", place(rng) + ("村" if village else "社区"), "行政村" if village else "城镇社区",
                            towns[i % 3] if not village else towns[3 + i % 13],
                            0 if village else rng.randint(1500, 8000)])
    communities[0][4] = 5000  # exactly 9.0 places
    write_csv(out / "xinmi" / "communities.csv", ["编码", "名称", "类型", "属地", "城镇常住人口"], communities)
    workers = []
    ww = width(700 * scale)
    for c in communities:
        floor_ = -(-c[4] * 18 // 10000) if c[2] == "城镇社区" else 3
        have = max(2, floor_ + weighted(rng, [(0, 40), (-1, 20), (-2, 10), (1, 20), (2, 10)]))
        posts = ["书记", "主任"] + [weighted(rng, [("副主任", 10), ("委员", 20), ("专职工作者", 70)]) for _ in range(have - 2)]
        posts += [rng.choice(["网格员", "网格员", "辅警", "其他"]) for _ in range(rng.randint(0, 3))]
        for post in posts:
            workers.append([f"XMW{len(workers) + 1:0{ww}d}", person(rng), c[0], post])
    write_csv(out / "xinmi" / "workers.csv", ["编号", "姓名", "社区编码", "岗位"], workers)

    duties = Path(__file__).resolve().parent.parent / "policies" / "xinmi" / "duties.csv"
    with duties.open(encoding="utf-8", newline="") as f:
        codes = [row["编号"] for row in csv.DictReader(f)]
    senders = ["城市综合运行平台", "12345热线", "市城市管理局", "市市场监督管理局", "市生态环境局", "市住房和城乡建设局",
               "市应急管理局", "市民政局", "市卫生健康委员会", "市商务局", "市自然资源和规划局", "市农业农村局"]
    events = ["道路堆放建筑废材", "农资质量投诉", "便民商业网点不足", "噪声扰民", "占道经营", "独居老人需要帮扶",
              "违法建设举报", "河道垃圾", "食品安全投诉", "燃气安全隐患", "企业统计报表催报", "流动人口信息登记"]
    header = ["编号", "名称", "来源部门", "事项类型", "职责编号", "属地", "拟派基层"]
    rows = []
    nt = 500 * scale
    tw = width(nt)
    for i in range(nt):
        r = rng.random()
        code = rng.choice(codes) if r < 0.88 else str(rng.randint(164, 999)) if r < 0.96 else "无"
        rows.append([f"XME{i + 1:0{tw}d}", rng.choice(events), rng.choice(senders),
                     weighted(rng, [("自治事项", 5), ("依法履职", 35), ("协助配合", 30), ("上级交办", 30)]), code,
                     rng.choice(towns), b(rng.random() < 0.45)])
    rows[0][4:7] = ["45", "曲梁镇", "true"]
    rows[1][4:7] = ["47", "来集镇", "false"]
    rows[2][4:7] = ["999", "新华路街道", "true"]
    write_csv(out / "xinmi" / "tasks.csv", header, rows)


# ================================================================================================ bad records

# Each bad file mixes good rows with rows that must fail to load; data/README.md lists every bad row
# (id, field, what is wrong) and tests/test_data_generator.py checks the count of failed records.
BAD_FILES: dict[str, tuple[list[str], list[list[object]]]] = {
    "jinyuan/bad_secretaries.csv": (
        ["编号", "姓名", "村社类型", "年度考核", "荣誉数", "任职年限", "集体经济增幅", "突出贡献", "学历", "上年学历",
         "负面情形数", "严重问题", "上年星级", "初评星级", "年报酬标准", "正常离任"],
        [
            ["JYB01", "王建国", "行政村", "优秀", 1, 8, "12.5%", "false", "大专", "高中", 0, "false", 3, 2, "50580.00", "false"],
            ["JYB02", "李秀英", "行政村", "称职", "", 6, "4.0%", "false", "高中", "高中", 0, "false", 2, 2, "45000.00", "false"],
            ["JYB03", "张卫东", "行政村", "称职", 0, "3.5", "6.0%", "false", "大专", "大专", 0, "false", 1, 1, "42000.00", "false"],
            ["JYB04", "刘海燕", "行政村", "忧秀", 2, 11, "15.0%", "true", "本科", "本科", 0, "false", 5, 3, "50580.00", "false"],
            ["JYB05", "陈志强", "城镇社区", "称职", 1, 4, "0%", "false", "本科", "本科", 0, "false", 2, 2, "86000.005", "false"],
            ["JYB06", "杨桂兰", "行政村", "基本称职", 0, 2, "1.5%", "false", "中专", "中专", 1, "false", 1, 0, "40000.00", "false"],
            ["JYB07", "黄明", "社区", "称职", 0, 7, "3.0%", "false", "大专", "大专", 0, "false", 2, 1, "48000.00", "false"],
            ["JYB08", "赵丽", "行政村", "称职", 1, 9, "十二%", "false", "大专", "大专", 0, "false", 3, 2, "47000.00", "false"],
            ["JYB09", "吴刚", "行政村", "优秀", 0, 5, "8.0%", "false", "高中", "高中", 0, "有", 2, 2, "46000.00", "false"],
            ["JYB01", "周红", "行政村", "称职", 0, 3, "2.0%", "false", "大专", "大专", 0, "false", 1, 1, "44000.00", "false"],
            ["JYB10", "徐平", "行政村", "称职", 0, 3, "2.0%", "false", "大专", "大专", 0, "false", 1, 1, "44000.00", "false"],
        ],
    ),
    "longshan/bad_staff.csv": (
        ["编号", "姓名", "社区编码", "岗位", "出生日期", "学历", "年度考核", "上年职级", "任职年限", "月绩效工资",
         "年度培训天数", "个人养老保险缴费", "个人合作医疗缴费", "因公死亡", "正常离任"],
        [
            ["LSB01", "彭秀兰", "LS001", "书记", "1970-04-12", "大专", "优秀", 4, 9, "1250.00", 5, "500.00", "250.00", "false", "false"],
            ["LSB02", "田志军", "LS001", "秘书", "1992-08-30", "本科", "忧秀", 7, 2, "1100.00", 6, "300.00", "250.00", "false", "false"],
            ["LSB03", "向春花", "LS002", "辅警", "1985-01-30", "高中", "称职", 8, 4, "1200.00", 5, "300.00", "220元/年", "false", "false"],
            ["LSB04", "彭德华", "LS002", "书记", "1968-11-02", "中专", "称职", "九", 12, "1300.00", 5, "1000.00", "250.00", "false", "false"],
            ["LSB05", "杨小红", "LS003", "秘书", "1994-02-15", "大专", "称职", 9, "", "1050.00", 5, "200.00", "250.00", "false", "false"],
            ["LSB06", "王勇", "LS003", "辅警", "1988-07-07", "高中", "称职", 6, 5, "1200.00", 5, "300.125", "220.00", "false", "false"],
            ["LSB07", "符运华", "LS004", "书纪", "1966-05-20", "高中", "基本称职", 5, 15, "1350.00", 5, "500.00", "280.00", "false", "false"],
            ["LSB08", "石友谊", "LS004", "秘书", "1995-12-01", "本科", "称职", 10, 1, "1000.00", 4, "200.00", "220.00", "false", "false"],
            ["LSB09", "龙凤", "LS005", "辅警", "1990-06-18", "中专", "称职", 8, 3, "1180.00", 5, "300.00", "220.00", "false", "对"],
        ],
    ),
    "longshan/bad_candidates.csv": (
        ["编号", "姓名", "出生日期", "学历", "党员", "入党日期", "转正日期", "拟任岗位", "连任", "特别优秀", "来源类别",
         "有十种情形", "直系亲属在村任职", "联审通过", "政治品行差", "参与宗教迷信", "受过刑事处罚"],
        [
            ["LSCB01", "彭光辉", "1972-06-15", "高中", "true", "1998-07-01", "1999-07-01", "书记", "false", "false", "其他符合条件人员", "false", "false", "true", "false", "false", "false"],
            ["LSCB02", "向丽", "1993-02-30", "大专", "false", "2012-01-01", "2013-01-01", "秘书", "false", "false", "精准扶贫志愿者", "false", "false", "true", "false", "false", "false"],
            ["LSCB03", "田军", "19880512", "高中", "false", "2007-01-01", "2008-01-01", "辅警", "false", "false", "其他符合条件人员", "false", "false", "true", "false", "false", "false"],
            ["LSCB04", "杨玉", "1991-09-09", "大学", "true", "2015-06-01", "2016-06-01", "秘书", "false", "false", "村级后备干部", "false", "false", "true", "false", "false", "false"],
            ["LSCB05", "彭飞", "1969-03-03", "高中", "true", "1994年3月", "1995-03-01", "书记", "true", "false", "其他符合条件人员", "false", "false", "true", "false", "false", "false"],
            ["LSCB06", "王霞", "1990-10-10", "本科", "false", "2009-01-01", "2010-01-01", "秘书", "false", "false", "其他两委成员", "不详", "false", "true", "false", "false", "false"],
            ["LSCB07", "龙海", "1986-04-04", "中专", "false", "2005-01-01", "2006-01-01", "辅警", "false", "false", "其他符合条件人员", "false", "false", "true", "false", "false", "false"],
        ],
    ),
    "jiangbei/bad_communities.csv": (
        ["编码", "名称", "街道代码", "社区序号", "常住人口", "上年常住人口", "户数", "面积", "经营主体数", "城乡属性", "主导功能",
         "拆迁安置户占比", "村改居户占比", "商品房户占比", "城镇开发边界内", "微网格数", "周转情形", "申请周转员额"],
        [
            ["JBB01", "湾头社区", "01", "001", 3120, 3050, 1300, "0.85", 140, "城镇", "居住服务", "10%", "5%", "70%", "false", 20, "无周转情形", 0],
            ["JBB02", "孔浦社区", "03", "002", "3,480", 3400, 1400, "0.92", 160, "城镇", "居住服务", "60%", "10%", "20%", "false", 22, "无周转情形", 0],
            ["JBB03", "庄桥村", "06", "003", 2210, 2200, 900, "4.2km²", 45, "乡村", "农业农村", "0%", "0%", "0%", "true", 14, "无周转情形", 0],
            ["JBB04", "文教社区", "04", "004", 2890, 2850, 1200, "0.64", 120, "城市", "居住服务", "5%", "10%", "60%", "false", 18, "无周转情形", 0],
            ["JBB05", "洪塘社区", "07", "005", 2500, 2450, 1050, "1.10", "", "城镇", "居住服务", "20%", "60%", "10%", "false", 16, "无周转情形", 0],
            ["JBB06", "甬江社区", "05", "006", 4100, 3900, 1700, "1.35", 300, "城镇", "产业集聚", "六成", "0%", "10%", "false", 26, "开发新建", 2],
            ["JBB07", "慈城村", "08", "007", 1980, 2010, 800, "6.30", 60, "乡村", "农业农村", "0%", "0%", "0%", "false", 12, "无周转情形", 0],
        ],
    ),
    "xiangan/bad_candidates.csv": (
        ["编号", "姓名", "学历", "报考社区编码", "参加统一考试", "笔试成绩", "面试成绩", "考试组织单位", "聘用单位", "两委干部近亲属"],
        [
            ["XACB01", "林晓燕", "本科", "XA001", "true", "78.5", "82.0", "翔安区委组织部", "新店街道办事处", "false"],
            ["XACB02", "陈建华", "大专以上", "XA002", "true", "66.0", "70.5", "翔安区委组织部", "新店街道办事处", "false"],
            ["XACB03", "黄志明", "本科", "XA003", "true", "八十", "75.0", "翔安区民政局", "香山街道办事处", "false"],
            ["XACB04", "洪丽华", "大专", "XA004", "", "70.0", "68.0", "翔安区民政局", "金海街道办事处", "false"],
            ["XACB05", "吴文斌", "本科", "XA005", "true", "81.0", "79.0", "翔安区委组织部", "民安街道办事处", "有"],
            ["XACB06", "蔡雅婷", "研究生", "XA006", "true", "88.0", "90.0", "翔安区委组织部", "凤翔街道办事处", "false"],
            ["XACB07", "许志伟", "本科", "XA007", "true", "72.0", "92.5分", "翔安区民政局", "马巷街道办事处", "false"],
            ["XACB08", "苏婉清", "大专", "XA008", "true", "64.5", "71.0", "翔安区民政局", "新店街道办事处", "false"],
        ],
    ),
    "xinmi/bad_tasks.csv": (
        ["编号", "名称", "来源部门", "事项类型", "职责编号", "属地", "拟派基层"],
        [
            ["XMEB01", "农资质量投诉", "市市场监督管理局", "依法履职", "45", "曲梁镇", "true"],
            ["XMEB02", "道路堆放建筑废材", "城市综合运行平台", "上级交代", "92", "新华路街道", "true"],
            ["XMEB03", "便民商业网点不足", "12345热线", "协助配合", "", "来集镇", "false"],
            ["", "噪声扰民", "12345热线", "依法履职", "60", "西大街街道", "false"],
            ["XMEB05", "占道经营", "市城市管理局", "上级交办", "88", "青屏街街道", "maybe"],
            ["XMEB01", "河道垃圾", "市生态环境局", "依法履职", "120", "超化镇", "false"],
            ["XMEB07", "企业统计报表催报", "市统计局", "上级交办", "999", "城关镇", "true"],
        ],
    ),
}


def bad_files(out: Path) -> None:
    for name, (header, rows) in BAD_FILES.items():
        write_csv(out / name, header, rows)


# ================================================================================================ main

def generate(out: Path, seed: int = 2026, scale: int = 1) -> None:
    for county in (jinyuan, tancheng, longshan, jiangbei, xiangan, xinmi):
        county(out, seed, scale)
    bad_files(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write synthetic county records for the policies under policies/.")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    parser.add_argument("--scale", type=int, default=1, help="multiply every record count by N (default 1)")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent), help="output directory (default: data/)")
    args = parser.parse_args(argv)
    if args.scale < 1:
        parser.error("--scale must be at least 1")
    generate(Path(args.out), args.seed, args.scale)


if __name__ == "__main__":
    main()
