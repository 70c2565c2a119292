"""Helpers for the explanation tests: Chinese expectations with full-width punctuation, and a policy given a
glossary in the test (which fields the person can change, which way an outcome is favourable, what is serious)."""

from __future__ import annotations

from dataclasses import replace

from policydsl.explain.formatting import fullwidth as fw
from policydsl.ir import Better, Policy, Term

__all__ = ["Better", "fw", "glossed"]


def glossed(policy: Policy, **terms: dict) -> Policy:
    """`policy` with glossary entries added (each keyword a target, its value Term's fields), as a policy's
    `glossary { … }` block would give them."""
    glossary = dict(policy.glossary)
    for target, fields in terms.items():
        old = glossary.get(target)
        glossary[target] = replace(old, **fields) if old is not None else Term(target, **fields)
    return replace(policy, glossary=glossary)
