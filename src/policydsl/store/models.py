"""The tables of the decision store (SQLAlchemy Core; the schema itself is made by the Alembic migrations).

Append-only: rows are inserted, never updated. What changes over time is expressed as new rows — an objection's
status is its latest answer, a batch becomes visible when its seal row is inserted. Every table whose rows are part
of the record (batches, files, decisions, seals, objections, answers, the access log) has its content hashed into
the ledger (`ledger.py`), so an edited row is found by `policydsl audit verify`. Accounts and tokens are the
service's configuration, not the record: their changes are written to the access log instead.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

#: One run of one policy on one input as of one date. Invisible until a row in `batch_seals` refers to it.
batches = Table(
    "batches", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uid", String(36), nullable=False, unique=True),
    Column("policy_name", Text, nullable=False),
    Column("policy_title", Text),
    Column("policy_file", Text, nullable=False),     # the main policy's path among the batch's files
    Column("policy_hash", String(64), nullable=False),
    Column("as_of", String(10), nullable=False),
    Column("input_name", Text, nullable=False),
    Column("input_hash", String(64), nullable=False),
    Column("related_json", Text, nullable=False),    # {field: {"name":…, "sha256":…}}
    Column("params_json", Text, nullable=False),     # [{name, value, effective, assumed, sources}]
    Column("engine", Text, nullable=False),
    Column("engine_version", Text, nullable=False),
    Column("options_json", Text, nullable=False),    # {"why_not": true, "note": …}
    Column("created_by", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("row_hash", String(64), nullable=False),
)

#: Every file the policy read: the policy, what it imports or extends, the lists it looks up.
batch_files = Table(
    "batch_files", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("batch_id", Integer, ForeignKey("batches.id"), nullable=False, index=True),
    Column("role", String(16), nullable=False),      # policy | import | list
    Column("path", Text, nullable=False),            # relative to the batch's root, '/'-separated
    Column("sha256", String(64), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("row_hash", String(64), nullable=False),
)

#: One record of a batch: what went in, what came out, why, and the explanations as the person reads them.
decisions = Table(
    "decisions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("batch_id", Integer, ForeignKey("batches.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("record_id", Text, nullable=False),
    Column("label", Text),
    Column("ok", Boolean, nullable=False),
    Column("error", Text),
    Column("inputs_json", Text, nullable=False),
    Column("outcomes_json", Text, nullable=False),
    Column("trace_json", Text, nullable=False),
    Column("explanation_zh", LargeBinary, nullable=False),  # zlib-compressed HTML page
    Column("explanation_en", LargeBinary, nullable=False),
    Column("row_hash", String(64), nullable=False),
    UniqueConstraint("batch_id", "record_id", name="uq_decision_record"),
    UniqueConstraint("batch_id", "position", name="uq_decision_position"),
)

#: The row that makes a batch visible, with its totals and the digest of everything it contains.
batch_seals = Table(
    "batch_seals", metadata,
    Column("batch_id", Integer, ForeignKey("batches.id"), primary_key=True),
    Column("record_count", Integer, nullable=False),
    Column("ok_count", Integer, nullable=False),
    Column("failed_count", Integer, nullable=False),
    Column("data_errors_json", Text, nullable=False),
    Column("summaries_json", Text, nullable=False),
    Column("totals_json", Text, nullable=False),
    Column("digest", String(64), nullable=False),    # over the batch row, its files and its decisions in order
    Column("sealed_at", String(32), nullable=False),
    Column("row_hash", String(64), nullable=False),
)

#: An objection (申诉 or 复核) a person filed against their decision.
objections = Table(
    "objections", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uid", String(36), nullable=False, unique=True),
    Column("decision_id", Integer, ForeignKey("decisions.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),      # appeal (申诉) | review (复核)
    Column("text", Text, nullable=False),
    Column("contact", Text),
    Column("lang", String(2), nullable=False),
    Column("filed_at", String(32), nullable=False),
    Column("row_hash", String(64), nullable=False),
)

#: An official's answer; the latest one is the objection's status.
objection_answers = Table(
    "objection_answers", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("objection_id", Integer, ForeignKey("objections.id"), nullable=False, index=True),
    Column("status", String(16), nullable=False),    # in_review | upheld | changed | rejected
    Column("text", Text, nullable=False),
    Column("answered_by", Text, nullable=False),
    Column("answered_at", String(32), nullable=False),
    Column("row_hash", String(64), nullable=False),
)

#: Who read or did what, when: every look-up by a citizen, every official action, every API call.
access_log = Table(
    "access_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", String(32), nullable=False),
    Column("actor_kind", String(16), nullable=False),  # citizen | official | api | cli
    Column("actor", Text, nullable=False),
    Column("action", String(48), nullable=False),
    Column("batch_id", Integer),
    Column("record_id", Text),
    Column("ok", Boolean, nullable=False),
    Column("client", Text),                            # the client's address, as the service saw it
    Column("detail", Text),
    Column("row_hash", String(64), nullable=False),
)

#: The hash chain: one entry per recorded row, each hashing the one before it in its chain.
ledger = Table(
    "ledger", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("chain", String(16), nullable=False),       # record | access
    Column("kind", String(32), nullable=False),        # the table of the row
    Column("ref", Integer, nullable=False),            # the row's id (batch id for a seal)
    Column("digest", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("at", String(32), nullable=False),
)

#: The last entry of each chain; appending locks this row, so two writers never chain onto the same entry.
chain_heads = Table(
    "chain_heads", metadata,
    Column("chain", String(16), primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
)

users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("display_name", Text),
    Column("password_hash", Text, nullable=False),
    Column("roles", Text, nullable=False),            # comma-separated: admin, publisher, reviewer, viewer
    Column("active", Boolean, nullable=False),
    Column("created_at", String(32), nullable=False),
)

api_tokens = Table(
    "api_tokens", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("active", Boolean, nullable=False),
    Column("created_at", String(32), nullable=False),
)

#: Tables whose rows the ledger covers, by the `kind` written in the ledger.
RECORDED = {"batch_seals": batch_seals, "objections": objections, "objection_answers": objection_answers,
            "access_log": access_log}
