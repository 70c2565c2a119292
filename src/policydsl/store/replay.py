"""Replay: re-evaluate a stored batch from nothing but what the store holds.

The batch's files are written to a fresh temporary folder with their stored relative paths (so `import` and
`extends` resolve as they did), the policy is checked from there, each stored input is converted back through the
records reader's own converter (the canonical JSON is a form it accepts: exact decimal text, ISO dates, durations
in words), and all records are evaluated again as of the batch's date. Every record whose outcomes or error differ
from the stored ones is reported; for a faithful store there are none.

`replay_compare` runs the same people through another policy with `compare.compare` — what the new policy would
change for them, with the causes.
"""

from __future__ import annotations

import json
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from .batches import batch_files, check, decisions_of, get_batch
from .canonical import dumps


class ReplayError(Exception):
    """A batch cannot be replayed (no such batch, its stored policy no longer checks); for users."""


@dataclass(frozen=True)
class Difference:
    """A record whose outcome on replay is not the stored one."""

    record_id: str
    stored: dict
    now: dict
    stored_error: str | None
    now_error: str | None


@dataclass
class ReplayReport:
    batch_id: int
    records: int = 0
    differing: list[Difference] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # inputs that no longer convert

    @property
    def ok(self) -> bool:
        return not self.differing and not self.problems


def write_files(store, batch_id: int, folder: str | Path):
    """Write the batch's files into `folder` with their stored relative paths; (batch, main policy's path).

    The folder is the root of the batch's files: check the policy with `_stored_policy`, which allows it."""
    batch = get_batch(store, batch_id)
    if batch is None:
        raise ReplayError(f"there is no complete batch {batch_id} in {store.display_url}")
    root = Path(folder).resolve()
    for _role, rel, content in batch_files(store, batch_id):
        target = (root / rel).resolve()
        if root not in target.parents:  # a stored path never leaves the folder
            raise ReplayError(f"batch {batch_id}: stored file path '{rel}' leaves its folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return batch, str(root / batch.policy_file)


@contextmanager
def materialised(store, batch_id: int):
    """The batch's files in a temporary folder; yields (batch, the main policy's path there)."""
    with tempfile.TemporaryDirectory(prefix=f"policydsl-batch{batch_id}-") as tmp:
        yield write_files(store, batch_id, tmp)


def stored_policy(store, batch_id: int, folder: str | Path):
    """(batch, checked policy) of a stored batch, its files written under `folder` (kept: the caller's cache)."""
    batch, path = write_files(store, batch_id, Path(folder) / f"batch-{batch_id}")
    return batch, _stored_policy(path, batch)


def _stored_policy(path: str, batch):
    """The checked policy of `batch` checked out at `path` (its imports allowed from anywhere in the checkout)."""
    from ..diagnostics import render_all
    root = Path(path).parents[len(Path(batch.policy_file).parts) - 1]  # path is root / batch.policy_file
    policy, errors, loader = check(path, (root,))
    if policy is None:
        raise ReplayError(f"batch {batch.id}: its stored policy no longer checks with this policydsl:\n"
                          + render_all(errors, loader.sources))
    return policy


def replay(store, batch_id: int) -> ReplayReport:
    """Re-evaluate batch `batch_id` from the store and report every record whose outcome differs."""
    from ..engines.records import convert_record
    from ..engines.row import Engine
    report = ReplayReport(batch_id)
    with materialised(store, batch_id) as (batch, path):
        policy = _stored_policy(path, batch)
        engine = Engine(policy)
        when = date.fromisoformat(batch.as_of)
        loaded = []
        for d in decisions_of(store, batch_id):
            report.records += 1
            record, errors = convert_record(d.inputs, policy.subject, policy.records, f"batch {batch_id}")
            if errors:
                report.problems.append(f"record {d.record_id}: its stored inputs no longer load: "
                                       + "; ".join(e.render() for e in errors))
                continue
            if not engine.cross:  # records evaluate alone: one at a time, nothing held
                _compare(report, d, engine.evaluate(record.values, when, record_id=d.record_id))
            else:
                loaded.append((d, record.values))
        if loaded:  # rules across records: all the stored records together, as they were published
            for d, result in zip((d for d, _ in loaded), engine.run([(d.record_id, v) for d, v in loaded], when)
                                 .results):
                _compare(report, d, result)
    return report


def _compare(report: ReplayReport, d, result) -> None:
    now = json.loads(dumps(result.values))
    if now != d.outcomes or result.error != d.error:
        report.differing.append(Difference(d.record_id, d.outcomes, now, d.error, result.error))


def inputs_file(store, batch_id: int, folder: Path) -> Path:
    """The batch's stored inputs as a JSON records file (related records inline), for other policies to read."""
    out = folder / f"batch-{batch_id}-inputs.json"
    with out.open("w", encoding="utf-8") as handle:
        handle.write("[")
        for i, d in enumerate(decisions_of(store, batch_id)):
            handle.write(("," if i else "") + "\n" + json.dumps(d.inputs, ensure_ascii=False))
        handle.write("\n]\n")
    return out


def compare_batches(store, earlier_id: int, later_id: int):
    """The comparison of two batches' policies on the later batch's people (earlier policy as the baseline)."""
    from ..compare import compare
    with materialised(store, earlier_id) as (earlier, old_path), \
            materialised(store, later_id) as (later, new_path), tempfile.TemporaryDirectory() as scratch:
        old, new = _stored_policy(old_path, earlier), _stored_policy(new_path, later)
        inputs = inputs_file(store, later_id, Path(scratch))
        return compare([old, new], inputs, as_of=date.fromisoformat(later.as_of),
                       labels=[f"batch {earlier_id}", f"batch {later_id}"], engine="row")


def replay_compare(store, batch_id: int, new_policy: str | Path, *, engine: str = "row"):
    """What `new_policy` would change for the people of batch `batch_id`: a `compare.Comparison` (stored policy
    first, as the baseline), evaluated as of the batch's date on its stored inputs."""
    from ..compare import compare
    from ..diagnostics import render_all
    other, errors, loader = check(new_policy)
    if other is None:
        raise ReplayError(f"{new_policy} has errors:\n" + render_all(errors, loader.sources))
    with materialised(store, batch_id) as (batch, path), tempfile.TemporaryDirectory() as scratch:
        baseline = _stored_policy(path, batch)
        inputs = inputs_file(store, batch_id, Path(scratch))
        label_new = Path(new_policy).stem
        labels = [f"batch {batch_id}", label_new if label_new != f"batch {batch_id}" else f"{label_new} (new)"]
        return compare([baseline, other], inputs, as_of=date.fromisoformat(batch.as_of), labels=labels,
                       engine=engine)
