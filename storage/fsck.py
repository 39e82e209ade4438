"""Fixity check: walks the catalog and the object store and reports every object that is
missing, corrupt (its bytes do not match the store's own checksum), mismatched (they do not
match the sha256 the catalog recorded) or orphaned (stored but referenced by no document).

Every object a document references is read to the end as a stream (never whole in memory)
and hashed: `original_key` against `source_sha256`, `pdf_key` against `pdf_sha256`,
`signed_key` against `signed_sha256`, and all of them against the store's checksum.

Documents are walked in id order and the last checked id is written to a state file after each
batch, so an interrupted run continues with `resume=True`. A sample (`sample=N` documents, or
each with probability `fraction`) checks objects only: orphans need the whole catalog, so they
are looked for on full runs only. Hash-named keys can leave harmless orphans behind when two
runs of a stage raced; they are reported like any other orphan.

Every run (full or sampled) also lists documents *stuck* mid-pipeline: in a working state
(received, ocr_done, classified) untouched for longer than `stuck_after_s` (a running stage
renews its lease, which touches the row). A stuck document was left by a process that was
killed, or waits on a queue nobody works; `sohoa failed retry ID` resumes it.

`write_prom_textfile` writes a run's outcome for node_exporter's textfile collector.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, union
from sqlalchemy.orm import Session

from storage import db
from storage.catalog import Document
from storage.objects import CHUNK, ObjectIntegrityError, ObjectNotFound, ObjectStore

BATCH = 200
STATE_VERSION = 1

MISSING, CORRUPT, MISMATCH, ORPHAN, STUCK = "missing", "corrupt", "mismatch", "orphan", "stuck"
# The pipeline's working states (pipeline.states: a stage moves a document out of each);
# storage knows nothing of the pipeline, so they are named here.
WORKING_STATES = ("received", "ocr_done", "classified")
STUCK_AFTER_S = 3600

# (which key column, which catalog checksum column); None: only the store's checksum
OBJECT_COLUMNS = (
    ("original", Document.original_key, Document.source_sha256),
    ("pdf", Document.pdf_key, Document.pdf_sha256),
    ("signed", Document.signed_key, Document.signed_sha256),
)


class FsckError(Exception):
    """The check cannot run as asked (bad options, a state file from another catalog)."""


@dataclass
class Problem:
    kind: str  # missing | corrupt | mismatch | orphan
    key: str
    document_id: str | None = None
    role: str | None = None  # original | pdf | signed
    detail: str = ""

    def describe(self) -> str:
        if self.kind == STUCK:
            return f"stuck: document {self.document_id}: {self.detail}"
        owner = f" ({self.role} of document {self.document_id})" if self.document_id else ""
        return f"{self.kind}: {self.key}{owner}" + (f": {self.detail}" if self.detail else "")


@dataclass
class FsckReport:
    mode: str  # full | sample | fraction
    documents: int = 0
    objects: int = 0
    bytes: int = 0
    problems: list[Problem] = field(default_factory=list)
    orphans_checked: bool = False
    resumed_after: str | None = None
    complete: bool = False

    @property
    def ok(self) -> bool:
        return self.complete and not self.problems

    def counts(self) -> dict[str, int]:
        found = {kind: 0 for kind in (MISSING, CORRUPT, MISMATCH, ORPHAN, STUCK)}
        for problem in self.problems:
            found[problem.kind] += 1
        return found

    def to_dict(self) -> dict:
        return {"ok": self.ok, "mode": self.mode, "complete": self.complete,
                "documents": self.documents, "objects": self.objects, "bytes": self.bytes,
                "orphans_checked": self.orphans_checked, "resumed_after": self.resumed_after,
                "counts": self.counts(), "problems": [asdict(p) for p in self.problems]}


def check_object(store: ObjectStore, key: str,
                 expected_sha256: str | None) -> tuple[int, str | None, Problem | None]:
    """Read `key` to the end; (size, sha256, problem or None). Store outages propagate."""
    try:
        if store.stat(key) is None:
            return 0, None, Problem(MISSING, key, detail=f"not in {store.url}")
    except (ObjectNotFound, ObjectIntegrityError) as exc:  # there, but no checksum record
        return 0, None, Problem(CORRUPT, key, detail=str(exc))
    except ValueError as exc:  # the catalog holds a key no store accepts
        return 0, None, Problem(MISSING, key, detail=str(exc))
    digest, size = hashlib.sha256(), 0
    try:
        with store.open(key) as stream:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except ObjectNotFound as exc:  # deleted since stat
        return 0, None, Problem(MISSING, key, detail=str(exc))
    except ObjectIntegrityError as exc:
        return size, None, Problem(CORRUPT, key, detail=str(exc))
    actual = digest.hexdigest()
    if expected_sha256 and actual != expected_sha256:
        return size, actual, Problem(MISMATCH, key, detail=(
            f"sha256 {actual} but the catalog recorded {expected_sha256}"))
    return size, actual, None


def stuck_documents(session: Session, older_than_s: float) -> list[Problem]:
    """Documents in a working state untouched for `older_than_s` seconds. A running stage
    renews its lease every third of its length (20 s by default), which touches the row, so a
    bound above that never names a document being worked on."""
    now = datetime.now(UTC)
    cutoff = now - timedelta(seconds=older_than_s)
    rows = session.execute(
        select(Document.id, Document.state, Document.updated_at, Document.original_key)
        .where(Document.state.in_(WORKING_STATES), Document.updated_at < cutoff)
        .order_by(Document.updated_at)).all()
    problems = []
    for doc_id, state, updated, key in rows:
        updated = updated.replace(tzinfo=UTC) if updated.tzinfo is None else updated
        minutes = (now - updated).total_seconds() / 60
        problems.append(Problem(
            STUCK, key or doc_id, document_id=doc_id, role="document",
            detail=f"in state {state} since {updated:%Y-%m-%d %H:%M:%S} UTC ({minutes:,.0f} "
                   f"min) and nobody is working on it; `sohoa failed retry {doc_id}` resumes it"))
    return problems


# --------------------------------------------------------------------------- state file
def _state_identity(database_url: str, store: ObjectStore) -> dict:
    # no credentials in the state file: a digest of the URLs identifies them well enough
    def tag(url: str) -> str:
        return hashlib.sha256(url.encode()).hexdigest()[:16]

    return {"catalog": tag(database_url), "store": tag(store.url)}


def load_state(path: Path, database_url: str, store: ObjectStore) -> dict | None:
    try:
        state = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise FsckError(f"{path}: unreadable fsck state ({exc}); delete it to start over") from None
    if state.get("version") != STATE_VERSION or not isinstance(state.get("last_id"), str):
        raise FsckError(f"{path}: not an fsck state file of this version; delete it to start over")
    if {k: state.get(k) for k in ("catalog", "store")} != _state_identity(database_url, store):
        raise FsckError(f"{path}: this state belongs to another catalog or object store; "
                        "delete it to start over")
    return state


def _save_state(path: Path, database_url: str, store: ObjectStore, report: FsckReport,
                last_id: str, started: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"version": STATE_VERSION, **_state_identity(database_url, store), "last_id": last_id,
             "started_at": started, "saved_at": datetime.now(UTC).isoformat(),
             "documents": report.documents, "objects": report.objects, "bytes": report.bytes,
             "problems": [asdict(p) for p in report.problems]}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(state, ensure_ascii=False, indent=1))
    os.replace(tmp, path)


# --------------------------------------------------------------------------- the walk
_ROW = (Document.id, *(c for _, key, sha in OBJECT_COLUMNS for c in (key, sha)))
_HAS_OBJECT = Document.original_key.is_not(None) | Document.pdf_key.is_not(None) | \
    Document.signed_key.is_not(None)


def _batches_after(session: Session, after: str | None) -> Iterator[list]:
    while True:
        stmt = select(*_ROW).where(_HAS_OBJECT).order_by(Document.id).limit(BATCH)
        if after is not None:
            stmt = stmt.where(Document.id > after)
        rows = session.execute(stmt).all()
        if not rows:
            return
        yield rows
        after = rows[-1][0]


def _sampled_ids(session: Session, rng: random.Random, sample: int | None,
                 fraction: float | None) -> list[str]:
    ids = session.scalars(select(Document.id).where(_HAS_OBJECT).order_by(Document.id)
                          .execution_options(yield_per=10_000))
    chosen: list[str] = []
    if fraction is not None:
        chosen = [i for i in ids if rng.random() < fraction]
    else:  # reservoir sampling: memory bounded by the sample, one pass over the ids
        for seen, doc_id in enumerate(ids):
            if len(chosen) < sample:
                chosen.append(doc_id)
            elif (slot := rng.randrange(seen + 1)) < sample:
                chosen[slot] = doc_id
    return sorted(chosen)


def _sample_batches(session: Session, ids: list[str]) -> Iterator[list]:
    for start in range(0, len(ids), BATCH):
        part = ids[start:start + BATCH]
        yield session.execute(select(*_ROW).where(Document.id.in_(part)).order_by(Document.id)).all()


def referenced_keys(session: Session) -> set[str]:
    """Every object key some document references (held in memory: ~150 bytes a key)."""
    keys = union(*(select(key.label("key")).where(key.is_not(None))
                   for _, key, _ in OBJECT_COLUMNS))
    return set(session.scalars(select(keys.subquery().c.key).execution_options(yield_per=10_000)))


def run_fsck(
    database_url: str,
    store: ObjectStore,
    *,
    sample: int | None = None,
    fraction: float | None = None,
    resume: bool = False,
    state_file: Path | None = None,
    check_orphans: bool = True,
    rng: random.Random | None = None,
    on_problem: Callable[[Problem], None] | None = None,
    stuck_after_s: float | None = STUCK_AFTER_S,
) -> FsckReport:
    """Check the objects of every (or a sample of) document, then look for orphans."""
    if sample is not None and fraction is not None:
        raise FsckError("give either a sample size or a fraction, not both")
    if sample is not None and sample < 1:
        raise FsckError(f"sample size must be at least 1, got {sample}")
    if fraction is not None and not 0 < fraction <= 1:
        raise FsckError(f"fraction must be in (0, 1], got {fraction}")
    sampling = sample is not None or fraction is not None
    if sampling and resume:
        raise FsckError("a sample cannot be resumed: resume continues a full walk")
    report = FsckReport(mode="sample" if sample is not None else
                        "fraction" if fraction is not None else "full")
    started = datetime.now(UTC).isoformat()
    after = None
    if resume and state_file is not None and (state := load_state(state_file, database_url, store)):
        after, started = state["last_id"], state.get("started_at", started)
        report.resumed_after = after
        report.documents, report.objects = state.get("documents", 0), state.get("objects", 0)
        report.bytes = state.get("bytes", 0)
        report.problems = [Problem(**p) for p in state.get("problems", [])
                           if p.get("kind") != STUCK]  # looked for again below

    def found(problem: Problem) -> None:
        report.problems.append(problem)
        if on_problem:
            on_problem(problem)

    with db.session_scope(database_url) as session:
        if stuck_after_s is not None:
            for problem in stuck_documents(session, stuck_after_s):
                found(problem)
            session.rollback()
        batches = (_sample_batches(session, _sampled_ids(session, rng or random.Random(),
                                                         sample, fraction))
                   if sampling else _batches_after(session, after))
        for rows in batches:
            for row in rows:
                doc_id, values = row[0], row[1:]
                for index, (role, _, _) in enumerate(OBJECT_COLUMNS):
                    key, expected = values[2 * index], values[2 * index + 1]
                    if key is None:
                        continue
                    size, _, problem = check_object(store, key, expected)
                    report.objects += 1
                    report.bytes += size
                    if problem is not None:
                        problem.document_id, problem.role = doc_id, role
                        found(problem)
                report.documents += 1
            if not sampling and state_file is not None:
                _save_state(state_file, database_url, store, report, rows[-1][0], started)
            session.rollback()  # end the read transaction between batches (no long snapshot)
        if not sampling and check_orphans:
            known = referenced_keys(session)
            for key in store.iter_keys():
                if key not in known:
                    found(Problem(ORPHAN, key, detail="no document references it"))
            report.orphans_checked = True
    report.complete = True
    if not sampling and state_file is not None:
        state_file.unlink(missing_ok=True)  # the walk is done: the next run starts over
    return report


def write_prom_textfile(path: Path, report) -> None:
    """The fsck outcome in Prometheus text format, written atomically (the alert rules in
    docs/alerts/sohoa-rules.yml read it through node_exporter's textfile collector)."""
    counts = report.counts()
    lines = ["# HELP sohoa_fsck_problems Problems found by the last sohoa fsck (objects; stuck "
             "documents)",
             "# TYPE sohoa_fsck_problems gauge"]
    lines += [f'sohoa_fsck_problems{{kind="{kind}"}} {counts.get(kind, 0)}'
              for kind in (MISSING, CORRUPT, MISMATCH, ORPHAN, STUCK)]
    lines += ["# HELP sohoa_fsck_last_run_timestamp_seconds When the last sohoa fsck finished",
              "# TYPE sohoa_fsck_last_run_timestamp_seconds gauge",
              f"sohoa_fsck_last_run_timestamp_seconds {time.time():.0f}"]
    tmp = path.with_name(path.name + ".part")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(path)
