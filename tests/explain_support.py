"""Helpers for the explanation tests: Chinese expectations with full-width punctuation, and a policy given a
glossary in the test (which fields the person can change, which way an outcome is favourable, what is serious)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal as D

from policydsl.explain.formatting import fullwidth as fw
from policydsl.ir import Better, Policy, Term

__all__ = ["POLICY_FILES", "AS_OF", "JB_AS_OF", "LS_AS_OF", "RECORDS", "XA_AS_OF", "XM_AS_OF", "Better", "applicant", "candidate",
           "fw", "glossed", "item", "secretary", "task"]

AS_OF = date(2022, 12, 31)
LS_AS_OF = date(2019, 3, 1)


def glossed(policy: Policy, **terms: dict) -> Policy:
    """`policy` with glossary entries added (each keyword a target, its value Term's fields), as a policy's
    `glossary { … }` block would give them."""
    glossary = dict(policy.glossary)
    for target, fields in terms.items():
        old = glossary.get(target)
        glossary[target] = replace(old, **fields) if old is not None else Term(target, **fields)
    return replace(policy, glossary=glossary)


# ------------------------------------------------------------------------------------------------ records

def secretary(**changes):
    base = dict(编号="JY-T1", 姓名="张明", 村社类型="行政村", 年度考核="称职", 荣誉数=1, 任职年限=8,
                集体经济增幅=D("0.05"), 突出贡献=False, 学历="高中", 上年学历="高中", 负面情形数=0, 严重问题=False,
                上年星级=2, 初评星级=1, 年报酬标准=D("50000.00"), 正常离任=False)
    base.update(changes)
    return base


def candidate(**changes):
    base = dict(编号="LS-T1", 姓名="李红", 出生日期=date(1983, 3, 1), 学历="中专", 党员=False,
                入党日期=date(2019, 3, 1), 转正日期=date(2020, 3, 1), 拟任岗位="秘书", 连任=False, 特别优秀=False, 来源类别="其他两委成员",
                有十种情形=False, 直系亲属在村任职=True, 联审通过=True, 政治品行差=False, 参与宗教迷信=False,
                受过刑事处罚=False)
    base.update(changes)
    return base


XA_AS_OF, XM_AS_OF, JB_AS_OF = date(2022, 8, 12), date(2024, 5, 27), date(2023, 6, 30)


def applicant(**changes):
    base = dict(编号="XA-T1", 姓名="甲", 学历="本科", 报考社区编码="XA01", 参加统一考试=True, 笔试成绩=D("78.0"),
                面试成绩=D("84.0"), 考试组织单位="翔安区委组织部", 聘用单位="新店街道", 两委干部近亲属=False)
    base.update(changes)
    return base


def task(**changes):
    base = dict(编号="XM-T1", 名称="村民反映购买假冒农资", 来源部门="市市场监督管理局", 事项类型="依法履职",
                职责编号="45", 属地="曲梁镇", 拟派基层=True)
    base.update(changes)
    return base


def item(**changes):
    base = dict(编号="JB-T1", 名称="居民议事协商", 来源部门="区民政局", 事项类型="自治事项", 来源层级="区级部门",
                已列入清单=True, 依据已修订废止=False, 有法律法规规章依据=True, 有上级规范性文件要求=True,
                有实际工作需要=True, 属于部门自身职责=False, 联席会议审核="未审核", 职责交接完成=False)
    base.update(changes)
    return base


RECORDS = {
    # an ordinary secretary who gained stars: 称职 1 + honour 1 + tenure 1 + growth 1 = 4, last year 2
    "jinyuan_gained": ("jinyuan", secretary(编号="JY-T1", 集体经济增幅=D("0.12")), AS_OF),
    # exactly at the 10-year tenure threshold (row 1 of 任职年限星 holds) and at the 10% growth threshold
    "jinyuan_threshold": ("jinyuan", secretary(编号="JY-T2", 姓名="王强", 任职年限=10, 集体经济增幅=D("0.10"),
                                               上年星级=4), AS_OF),
    # lost a star: one negative situation, 基本称职, 4 years → 1 star after 2
    "jinyuan_lost": ("jinyuan", secretary(编号="JY-T3", 姓名="赵伟", 年度考核="基本称职", 荣誉数=0, 任职年限=4,
                                          负面情形数=1, 上年星级=2), AS_OF),
    # a clerk refused for age (36 > 35), for education (中专 < 大专) and for a relative serving in the village
    "longshan_refused": ("longshan", candidate(), LS_AS_OF),
    # a full-time worker found absent three times this year: removed from post, the quarter's pay deducted
    "longshan_removed": ("longshan_discipline", dict(编号="LS-D9", 姓名="钱七", 岗位="书记", 月绩效工资=D("1000.00"),
                                                     年度培训天数=5, 擅离=(
                                                         {"记录编号": "DX-1", "干部编号": "LS-D9", "发现日期": date(2019, 4, 2)},
                                                         {"记录编号": "DX-2", "干部编号": "LS-D9", "发现日期": date(2019, 5, 9)},
                                                         {"记录编号": "DX-3", "干部编号": "LS-D9", "发现日期": date(2019, 6, 1)})),
                         date(2019, 6, 30)),
    # an ordinary clerk candidate, 28, bachelor's degree, no relative in the village: every condition met
    "longshan_ordinary": ("longshan", candidate(编号="LS-T2", 姓名="周敏", 出生日期=date(1990, 5, 1), 学历="本科",
                                                直系亲属在村任职=False), LS_AS_OF),
    # a new secretary exactly 57 (57周岁以下 includes 57) with exactly one year of membership: eligible at the edge
    "longshan_threshold": ("longshan", candidate(编号="LS-T3", 姓名="吴刚", 出生日期=date(1962, 3, 1), 学历="高中",
                                                 党员=True, 入党日期=date(2017, 3, 1), 转正日期=date(2018, 3, 1),
                                                 拟任岗位="书记",
                                                 直系亲属在村任职=False), LS_AS_OF),
    # Xiang'an entry of community workers: 81 points, every condition met
    "xiangan_ordinary": ("xiangan", applicant(), XA_AS_OF),
    # exactly at the pass mark: 58 × 0.5 + 62 × 0.5 = 60 ≥ 60 passes
    "xiangan_threshold": ("xiangan", applicant(编号="XA-T2", 姓名="乙", 学历="大专", 报考社区编码="XA02",
                                                 笔试成绩=D("58.0"), 面试成绩=D("62.0"), 聘用单位="香山街道"), XA_AS_OF),
    # 59.9 points, and a close relative of a two-committee member: two conditions fail
    "xiangan_failed": ("xiangan", applicant(编号="XA-T3", 姓名="丙", 学历="大专", 报考社区编码="XA02",
                                              笔试成绩=D("59.8"), 面试成绩=D("60.0"), 聘用单位="香山街道",
                                              两委干部近亲属=True), XA_AS_OF),
    # Xinmi routing: duty No. 45, the town is main-responsible, so the town handles the task itself
    "xinmi_ordinary": ("xinmi", task(), XM_AS_OF),
    # the edge between main and cooperating duty: No. 47 (the town only cooperates) goes to the commerce bureau
    "xinmi_cooperating": ("xinmi", task(编号="XM-T2", 名称="村里缺少便民超市", 来源部门="12345热线",
                                        事项类型="协助配合", 职责编号="47", 属地="来集镇", 拟派基层=True), XM_AS_OF),
    # a code not on the duty list: returned to the sender, and the community may refuse it
    "xinmi_returned": ("xinmi", task(编号="XM-T3", 名称="某部门要求社区代为开展企业统计普查", 来源部门="市某局",
                                     事项类型="上级交办", 职责编号="999", 属地="新华路街道"), XM_AS_OF),
    # Jiangbei admission: an item on the published list is admitted
    "jiangbei_admitted": ("jiangbei", item(), JB_AS_OF),
    # the joint meeting approved a new item but the duties are not yet handed over: one step from admission
    "jiangbei_handover": ("jiangbei", item(编号="JB-T2", 名称="社区养老服务信息采集", 来源部门="区卫健局",
                                           事项类型="协助配合", 已列入清单=False, 联席会议审核="审核通过"), JB_AS_OF),
    # an assisting item without a legal basis fails the three standards: refused, and may be reported
    "jiangbei_refused": ("jiangbei", item(编号="JB-T3", 名称="协助开展某项台账填报", 来源部门="区某局",
                                          事项类型="协助配合", 已列入清单=False, 有法律法规规章依据=False), JB_AS_OF),
}




#: The policy of each key of RECORDS.
POLICY_FILES = {"jinyuan": "policies/jinyuan/star_rating.policy", "longshan": "policies/longshan/eligibility.policy",
                "longshan_discipline": "policies/longshan/discipline.policy",
                "xiangan": "policies/xiangan/entry.policy", "xinmi": "policies/xinmi/routing.policy",
                "jiangbei": "policies/jiangbei/admission.policy"}
