"""policydsl — a declarative rules language and engine for grassroots-worker policies.

Pipeline: syntax → semantics → graph → evaluation → api → cli. Start with `policydsl.api`.
"""

__version__ = "0.1.0"
