"""Stage 7a — the decision store: every batch a county publishes, kept as a record it can show years later.

    from policydsl import store
    s = store.open_store()                               # SQLite file ./policydsl.db (WAL), migrated on open
    s = store.open_store("postgresql+psycopg://…")       # or PostgreSQL by URL
    batch = store.publish(s, "policies/jinyuan/star_rating.policy", "data/jinyuan/secretaries.csv")
    store.replay(s, batch.id).differing                  # [] — the store holds everything needed to re-run it
    store.verify(s).ok                                   # every row still hashes to what the ledger recorded

Modules: `db` (engines, migrations, the `Store` handle), `models` (the tables), `canonical` (values as canonical
JSON, hashes), `ledger` (the hash chain and `verify`), `batches` (publish and read), `codes` (citizens' access
codes), `accounts` (officials and API tokens), `objections`, `access` (the access log), `replay`.
"""

from __future__ import annotations

from .batches import BatchInfo, Decision, PublishError, get_batch, get_decision, list_batches, publish
from .db import DEFAULT_URL, Store, StoreError, open_store
from .ledger import VerifyReport, verify
from .replay import ReplayReport, replay, replay_compare

__all__ = ["DEFAULT_URL", "BatchInfo", "Decision", "PublishError", "ReplayReport", "Store", "StoreError",
           "VerifyReport", "get_batch", "get_decision", "list_batches", "open_store", "publish", "replay",
           "replay_compare", "verify"]
