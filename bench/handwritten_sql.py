"""The benchmark's hand-written DuckDB baselines: each policy's rules written by hand as one SQL query, and the I/O floor.

    .venv/bin/python bench/handwritten_sql.py jinyuan --records secretaries.csv --out out.csv
    .venv/bin/python bench/handwritten_sql.py quota --records communities.csv --related 工作者=workers.csv --out out.csv
    .venv/bin/python bench/handwritten_sql.py grids --records communities.csv --related 网格=grids.csv --out out.csv
    .venv/bin/python bench/handwritten_sql.py floor --records FILE [--related F=FILE …] --out out.csv

Each query reads the CSV with `read_csv` (typed columns, no sniffing), computes every outcome the policy writes, and
`COPY`s the result to CSV in the format `policydsl run --out x.csv` writes (money as DECIMAL(18,2) text, ints,
`true`/`false`, enum labels). The semantics follow the policy files line by line; where the language's exact
decimal arithmetic matters it is reproduced with DECIMAL (never DOUBLE): money is rounded to the fen half away from
zero (Python's ROUND_HALF_UP), which DuckDB's `round(DECIMAL, 2)` does. `bench/bench_engines.py` checks these
queries against `policydsl run` on a sample before it times anything, and `tests/test_bench_engines.py` runs that
check on the shipped data, so the queries cannot drift from the policies silently.

The floor reads every input file in full (all columns as text) and writes the records file back unchanged: the
least any system reading these files and writing a results file has to do.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import duckdb


def _lit(text: str) -> str:
    """A SQL string literal (paths come from the command line, not from policy authors; quoted all the same)."""
    return "'" + text.replace("'", "''") + "'"


def _id(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _read(path: Path, types: dict[str, str]) -> str:
    """read_csv(...) with every column of the file's header declared: the given types, VARCHAR for the rest."""
    with open(path, encoding="utf-8", newline="") as f:
        header = next(csv.reader(f))
    missing = set(types) - set(header)
    if missing:
        raise SystemExit(f"{path}: missing columns {', '.join(sorted(missing))}")
    cols = ", ".join(f"{_lit(c)}: {_lit(types.get(c, 'VARCHAR'))}" for c in header)
    return f"read_csv({_lit(str(path))}, header = true, auto_detect = false, delim = ',', quote = '\"', columns = {{{cols}}})"


def _copy(query: str, out: Path) -> str:
    return f"COPY ({query}) TO {_lit(str(out))} (FORMAT csv, HEADER true, DELIMITER ',')"


# ------------------------------------------------------------------------------------------------ Jinyuan

EDU = "['初中', '高中', '中专', '大专', '本科', '研究生']"  # enum 学历 ordered (base.policy), lowest first


def jinyuan_sql(records: Path, related: dict[str, Path], out: Path) -> str:
    """policies/jinyuan/star_rating.policy: 13 outcomes per secretary."""
    src = _read(records, {
        "编号": "VARCHAR", "村社类型": "VARCHAR", "年度考核": "VARCHAR", "荣誉数": "INTEGER", "任职年限": "INTEGER",
        "集体经济增幅": "VARCHAR", "突出贡献": "BOOLEAN", "学历": "VARCHAR", "上年学历": "VARCHAR",
        "负面情形数": "INTEGER", "严重问题": "BOOLEAN", "上年星级": "INTEGER", "初评星级": "INTEGER",
        "年报酬标准": "DECIMAL(18,2)", "正常离任": "BOOLEAN"})
    query = f"""
    WITH r AS (
      SELECT 编号, 年度考核, 严重问题, 上年星级, 初评星级, 年报酬标准, 正常离任,
             村社类型 = '行政村' AS 是村书记,
             -- 集体经济增幅 is percent text ('25.0%', '-3.5%', '10%'); 增收致富门槛 = 10%
             CAST(rtrim(集体经济增幅, '%') AS DECIMAL(18,4)) >= 10 AS 增收,
             (CASE 年度考核 WHEN '优秀' THEN 2 WHEN '称职' THEN 1 ELSE 0 END)
               + least(荣誉数, 2)
               + (CASE WHEN 任职年限 >= 10 THEN 2 WHEN 任职年限 >= 5 THEN 1 ELSE 0 END) AS 基础星级,
             CASE WHEN list_position({EDU}, 学历) > list_position({EDU}, 上年学历) THEN 1 ELSE 0 END AS 学历提升星,
             (CASE WHEN 突出贡献 THEN 1 ELSE 0 END) AS 突出贡献星,
             负面情形数 AS 降星
      FROM {src}
    ), s AS (
      SELECT *,
             CASE WHEN 严重问题 THEN 0
                  ELSE greatest(0, least(7, 基础星级 + (CASE WHEN 增收 THEN 1 ELSE 0 END) + 突出贡献星 + 学历提升星
                                            - 降星)) END AS 星级
      FROM r
    ), p AS (
      SELECT *,
             CASE WHEN 是村书记 THEN round(年报酬标准 * 0.60, 2) ELSE 年报酬标准 END AS 基础工资,
             CASE WHEN 是村书记
                  THEN round(年报酬标准 * 0.40 * (CASE WHEN 星级 >= 5 THEN 1.00 WHEN 星级 >= 3 THEN 0.80
                                                         WHEN 星级 >= 1 THEN 0.60 ELSE 0.40 END), 2)
                  ELSE 0 END AS 绩效工资,
             greatest(0, 星级 - 上年星级) * 1000 AS 星级奖励,
             学历提升星 * 1000 AS 学历提升奖励,
             CASE WHEN 是村书记 AND 增收 THEN 2000 ELSE 0 END AS 集体经济奖励,
             星级 - 初评星级 AS 任期增星
      FROM s
    )
    SELECT 编号,
           星级,
           星级 - 上年星级 AS 星级变化,
           CAST(基础工资 AS DECIMAL(18,2)) AS 基础工资,
           CAST(绩效工资 AS DECIMAL(18,2)) AS 绩效工资,
           CAST(星级奖励 AS DECIMAL(18,2)) AS 星级奖励,
           CAST(学历提升奖励 AS DECIMAL(18,2)) AS 学历提升奖励,
           CAST(集体经济奖励 AS DECIMAL(18,2)) AS 集体经济奖励,
           CAST(基础工资 + 绩效工资 + 星级奖励 + 学历提升奖励 + 集体经济奖励 AS DECIMAL(18,2)) AS 年度报酬合计,
           CAST(least(星级 * 100, 600) AS DECIMAL(18,2)) AS 养老保险星级补助,
           任期增星,
           CAST(CASE WHEN 是村书记 AND 正常离任
                     THEN 300 + 星级 * 40 + (CASE WHEN 任期增星 >= 5 THEN 50 ELSE 0 END)
                     ELSE 0 END AS DECIMAL(18,2)) AS 离任月补贴,
           (NOT 是村书记) AND 正常离任 AND 星级 >= 5 AS 离任保留待遇,
           CASE WHEN 星级 >= 5 AND 年度考核 = '优秀' THEN '可推荐事业编'
                WHEN 星级 <= 1 THEN '诫勉督促'
                ELSE '常规管理' END AS 星级运用
    FROM p
    """
    return _copy(query, out)


# ------------------------------------------------------------------------------------------------ Jiangbei

def quota_sql(records: Path, related: dict[str, Path], out: Path) -> str:
    """policies/jiangbei/quota.policy on communities with their workers (related field 工作者, by 社区编码)."""
    communities = _read(records, {"编码": "VARCHAR", "常住人口": "BIGINT", "上年常住人口": "BIGINT",
                                  "周转情形": "VARCHAR", "申请周转员额": "BIGINT"})
    workers = _read(related["工作者"], {"编号": "VARCHAR", "社区编码": "VARCHAR", "岗位": "VARCHAR"})
    # The district's places (round(Σ 常住人口 × 21.4 / 10000)) shared by largest remainder: ⌊745·w/W⌋ each, the rest
    # one each to the largest remainders (745·w mod W), ties to the larger community then the lower code; the pool of
    # 20 revolving places served in the order of the situations as the policy lists them, then larger, then code.
    situations = "['无周转情形', '融合型大社区建设', '阶段性重点工作', '区划调整', '开发新建', '撤并整合', '规模类型较大变化']"
    query = f"""
    WITH w AS (
      SELECT 社区编码, count(*) AS n
      FROM {workers}
      WHERE 岗位 IN ('书记', '主任', '副主任', '委员', '专职工作者', '网格员')
      GROUP BY 社区编码
    ), c AS (
      SELECT *, CAST(round(sum(常住人口) OVER () * 0.00214) AS HUGEINT) AS T, CAST(sum(常住人口) OVER () AS HUGEINT) AS W
      FROM {communities}
    ), a AS (
      SELECT *, (T * 常住人口) // W AS 下取整, (T * 常住人口) % W AS 余数,
             CASE WHEN 周转情形 = '无周转情形' THEN 0 ELSE least(申请周转员额, 2) END AS 周转申请
      FROM c
    ), b AS (
      SELECT *, T - sum(下取整) OVER () AS 余额,
             row_number() OVER (ORDER BY 余数 DESC, 常住人口 DESC, 编码) AS 余数序,
             coalesce(sum(周转申请) OVER (ORDER BY list_position({situations}, 周转情形), 常住人口 DESC, 编码
                                          ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS 此前申请
      FROM a
    ), q AS (
      SELECT b.编码,
             CAST(下取整 + CASE WHEN 余数序 <= 余额 THEN 1 ELSE 0 END AS BIGINT) AS 基础员额,
             -- 常住人口 × 21.4 / 10000 = 常住人口 × 0.00214, exact in DECIMAL; round() is half away from zero
             CAST(round(b.上年常住人口 * 0.00214) AS BIGINT) AS 上年基础员额,
             CAST(least(周转申请, greatest(0, 20 - 此前申请)) AS BIGINT) AS 周转员额,
             coalesce(w.n, 0) AS 实有员额人数
      FROM b LEFT JOIN w ON w.社区编码 = b.编码
    ), k AS (
      SELECT *, 基础员额 + 周转员额 AS 核定员额 FROM q
    )
    SELECT 编码, 基础员额, 上年基础员额, 基础员额 - 上年基础员额 AS 员额年度调整, 周转员额, 核定员额, 实有员额人数,
           greatest(0, 核定员额 - 实有员额人数) AS 缺额,
           greatest(0, 实有员额人数 - 核定员额) AS 超额,
           CASE WHEN 实有员额人数 < 核定员额 THEN '缺员' WHEN 实有员额人数 = 核定员额 THEN '满员' ELSE '超员' END AS 员额状态
    FROM k
    ORDER BY 编码  -- the file's order: the generated keys are zero-padded (JB0000001 …)
    """
    return _copy(query, out)


def grids_sql(records: Path, related: dict[str, Path], out: Path) -> str:
    """policies/jiangbei/grids.policy on communities with their grids (related field 网格, by 社区编码)."""
    communities = _read(records, {"编码": "VARCHAR", "户数": "BIGINT", "微网格数": "BIGINT"})
    grids = _read(related["网格"], {"编号": "VARCHAR", "社区编码": "VARCHAR", "户数": "BIGINT"})
    query = f"""
    WITH g AS (
      SELECT 社区编码, count(*) AS n,
             count(*) FILTER (WHERE 户数 > 500) AS big,
             count(*) FILTER (WHERE 户数 < 300) AS small
      FROM {grids}
      GROUP BY 社区编码
    ), b AS (
      SELECT c.编码, c.微网格数, coalesce(g.n, 0) AS 实有网格数, coalesce(g.big, 0) AS 超规模网格数,
             coalesce(g.small, 0) AS 过小网格数,
             greatest(1, CAST(ceil(c.户数 / 500) AS BIGINT)) AS lo,
             greatest(1, CAST(ceil(c.户数 / 80) AS BIGINT)) AS mlo,
             CAST(floor(c.户数 / 300) AS BIGINT) AS hi0,
             CAST(floor(c.户数 / 50) AS BIGINT) AS mhi0
      FROM {communities} AS c LEFT JOIN g ON g.社区编码 = c.编码
    ), r AS (
      SELECT *, greatest(lo, hi0) AS hi, greatest(mlo, mhi0) AS mhi FROM b
    )
    SELECT 编码, 实有网格数,
           CASE WHEN 实有网格数 < lo THEN '偏少' WHEN 实有网格数 <= hi THEN '符合' ELSE '偏多' END AS 网格数核查,
           超规模网格数, 过小网格数,
           CASE WHEN 微网格数 < mlo THEN '偏少' WHEN 微网格数 <= mhi THEN '符合' ELSE '偏多' END AS 微网格数核查
    FROM r
    ORDER BY 编码
    """
    return _copy(query, out)


# ------------------------------------------------------------------------------------------------ I/O floor

def floor_sql(records: Path, related: dict[str, Path], out: Path) -> list[str]:
    reads = [f"SELECT count(*) FROM read_csv({_lit(str(p))}, header = true, all_varchar = true)"
             for p in related.values()]
    copy = _copy(f"SELECT * FROM read_csv({_lit(str(records))}, header = true, all_varchar = true)", out)
    return reads + [copy]


QUERIES = {"jinyuan": jinyuan_sql, "quota": quota_sql, "grids": grids_sql, "floor": floor_sql}


def run(case: str, records: Path, related: dict[str, Path], out: Path, threads: int | None = None) -> None:
    statements = QUERIES[case](Path(records), {k: Path(v) for k, v in related.items()}, Path(out))
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    for statement in [statements] if isinstance(statements, str) else statements:
        con.execute(statement).fetchall()
    con.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("case", choices=sorted(QUERIES))
    ap.add_argument("--records", required=True, type=Path)
    ap.add_argument("--related", action="append", default=[], metavar="FIELD=FILE")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--print-sql", action="store_true", help="print the statements instead of running them")
    args = ap.parse_args(argv)
    related = dict(r.split("=", 1) for r in args.related)
    if args.print_sql:
        statements = QUERIES[args.case](args.records, {k: Path(v) for k, v in related.items()}, args.out)
        print(statements if isinstance(statements, str) else ";\n".join(statements))
        return 0
    run(args.case, args.records, related, args.out, args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
