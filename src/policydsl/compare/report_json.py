"""The comparison as JSON for programs."""

from __future__ import annotations

from decimal import Decimal

from ..types import INT, MONEY, PERCENT, Type, format_value
from .model import Comparison, PathStep

# ------------------------------------------------------------------------------------------------ JSON

def _jv(value: object, t: Type | None = None) -> object:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Decimal):
        return format_value(value, t) if t in (MONEY, PERCENT) else format_value(value)
    return format_value(value, t)


def _to_dict(c: Comparison) -> dict:
    return {
        "records": c.records_path,
        "baseline": c.compared[0].label if c.compared else None,
        "policies": [{
            "label": r.label, "path": r.path, "name": r.policy.name, "title": r.policy.title,
            "as_of": r.as_of.isoformat(), "compared": r.runnable,
            "missing_fields": [m.message for m in r.missing], "setup_error": r.setup_error,
            "records_loaded": r.loaded, "records_failed_to_load": r.failed_ids,
            "data_errors": [e.render() for e in r.data_errors],
            "evaluation_errors": [{"record": i, "error": e} for i, e in r.evaluation_errors],
        } for r in c.runs],
        "outcomes": {
            "common": [{"name": n, "type": str(t)} for n, t in c.common_outcomes],
            "only_in": c.only_in,
            "type_differs": [{"name": n, "types": list(ts)} for n, ts in c.type_mismatch],
        },
        "counts": {"records": c.records_total, "compared": c.records_compared, "differing": c.records_differing},
        "headline": {lang: c.headline(lang) for lang in ("zh", "en")} if len(c.compared) > 1 else {},
        "primary_outcome": c.primary,
        "affected": c.affected,
        "groups": [{
            "field": g.field, "policy": g.policy, "outcome": g.outcome,
            "rows": [{"value": r.value, "records": r.records, "changed": r.changed,
                      "total_baseline": _jv(r.total_base, g.type), "total_other": _jv(r.total_other, g.type),
                      "up": r.gain, "down": r.lose} for r in g.rows],
        } for g in c.groups],
        "totals": [{
            "outcome": t.outcome, "type": str(t.type), "policy": t.policy, "records": t.count,
            "total_baseline": _jv(t.total_base, t.type), "total_other": _jv(t.total_other, t.type),
            "change": _jv(t.change, t.type), "mean_change": _jv(t.mean_change),
            "median_change": _jv(t.median_change, t.type if t.type != INT else None),
            "min_change": _jv(t.min_change, t.type), "max_change": _jv(t.max_change, t.type),
            "gain": t.gain, "lose": t.lose, "same": t.same,
            "gained": _jv(t.gained, t.type), "lost": _jv(t.lost, t.type),
            **({"distribution": [{"value": v, "baseline": a, "other": b} for v, a, b in t.distribution]}
               if t.distribution else {}),
        } for t in c.numeric],
        "summaries": [{"name": n, "type": str(t), "values": {label: _jv(v, t) for label, v in zip(c.labels, vs)}}
                      for n, t, vs in c.summaries],
        "crosstabs": [{
            "outcome": x.outcome, "type": str(x.type), "policy": x.policy,
            "cells": [{"baseline": _jv(a, x.type), "other": _jv(b, x.type), "count": n} for a, b, n in x.cells],
        } for x in c.crosstabs],
        "structure": [{"kind": d.kind, "name": d.name, "texts": dict(zip(c.labels, d.texts)),
                       "notes": list(d.notes)} for d in c.structure],
        "subject_fields_differ": [{"field": n, "types": dict(zip(c.labels, ts))} for n, ts in c.field_differences],
        # the largest changes first, at most detail_limit of them (the CSV / Excel reports list every one)
        "records_differing_listed": len(c.diffs),
        "records_differing": [{
            "record": d.record_id,
            "outcomes": [{
                "outcome": o.outcome, "type": str(o.type),
                "values": {label: _jv(v, o.type) for label, v in zip(c.labels, o.values)},
                "causes": [{
                    "policy": cause.policy, "changed": list(cause.changed),
                    **({"path": [_step_dict(s) for s in cause.path]} if cause.path is not None else {}),
                } for cause in o.causes],
            } for o in d.outcomes],
        } for d in c.diffs],
    }


def _step_dict(s: PathStep) -> dict:
    out = {"kind": s.kind, "name": s.name, "baseline": _jv(s.values[0], s.type), "other": _jv(s.values[1], s.type)}
    if s.rows != (None, None):
        out["rows"] = list(s.rows)
    return out


