"""`sohoa fsck` on both catalog backends: a single flipped byte, a catalog checksum that does
not match, a missing object and an orphan are each found and named; sampling; an interrupted
run resumes after the last checked document; the command's exit codes; and the S3 store."""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import uuid
from datetime import date

import pytest
import typer
from typer.testing import CliRunner

import storage.fsck
from storage.catalog import Document
from storage.fsck import CORRUPT, MISMATCH, MISSING, ORPHAN, STUCK, FsckError, run_fsck
from storage.objects import ObjectStoreUnavailable
from storage.units import find_unit


def _stored_document(rt, store=None) -> Document:
    """A document with its three objects stored and their checksums recorded."""
    store = store or rt.objects
    tag = uuid.uuid4().hex
    blobs = {role: os.urandom(3000) + role.encode() for role in ("original", "pdf", "signed")}
    keys = {role: f"01/00004/2024/{tag}/{role}-{hashlib.sha256(data).hexdigest()[:16]}.bin"
            for role, data in blobs.items()}
    for role, data in blobs.items():
        store.put_bytes(keys[role], data)
    sha = {role: hashlib.sha256(data).hexdigest() for role, data in blobs.items()}
    with rt.session() as s:
        doc = Document(state="stored", source_name="scan.png", source_sha256=sha["original"],
                       source_size=len(blobs["original"]),
                       unit_id=find_unit(s, "00004", date(2024, 5, 1)).id,
                       original_key=keys["original"], pdf_key=keys["pdf"],
                       pdf_sha256=sha["pdf"], signed_key=keys["signed"],
                       signed_sha256=sha["signed"])
        s.add(doc)
    return doc


@pytest.fixture
def stored(catalog_runtime):
    docs = [_stored_document(catalog_runtime) for _ in range(5)]
    return catalog_runtime, sorted(docs, key=lambda d: d.id)


def _fsck(rt, **kwargs):
    kwargs.setdefault("state_file", rt.settings.resolved_home / "fsck-state.json")
    return run_fsck(rt.database_url, rt.objects, **kwargs)


def _flip_byte(store, key: str, offset: int = 1234) -> None:
    path = store.root / key
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_clean_store_passes(stored):
    rt, docs = stored
    report = _fsck(rt)
    assert report.ok and report.complete and report.orphans_checked
    assert (report.documents, report.objects) == (5, 15)
    assert report.bytes == 15 * 3000 + 5 * len("originalpdfsigned")
    assert not (rt.settings.resolved_home / "fsck-state.json").exists()


def test_each_kind_of_problem_is_found_and_named(stored):
    rt, docs = stored
    _flip_byte(rt.objects, docs[0].pdf_key)  # one flipped bit in the middle of the PDF
    rt.objects.delete(docs[1].signed_key)
    with rt.session() as s:  # the catalog's checksum disagrees with the (intact) object
        s.get(Document, docs[2].id).signed_sha256 = "0" * 64
    rt.objects.put_bytes("01/00004/2024/left-over/signed-0123456789abcdef.pdf", b"raced stage")

    report = _fsck(rt)
    assert not report.ok and report.complete
    found = {(p.kind, p.key, p.document_id, p.role) for p in report.problems}
    assert found == {
        (CORRUPT, docs[0].pdf_key, docs[0].id, "pdf"),
        (MISSING, docs[1].signed_key, docs[1].id, "signed"),
        (MISMATCH, docs[2].signed_key, docs[2].id, "signed"),
        (ORPHAN, "01/00004/2024/left-over/signed-0123456789abcdef.pdf", None, None),
    }
    assert report.counts() == {MISSING: 1, CORRUPT: 1, MISMATCH: 1, ORPHAN: 1, STUCK: 0}
    mismatch = next(p for p in report.problems if p.kind == MISMATCH)
    assert "0" * 64 in mismatch.detail and docs[2].id in mismatch.describe()


def test_original_checked_against_the_source_checksum(stored):
    rt, docs = stored
    with rt.session() as s:
        s.get(Document, docs[3].id).source_sha256 = "f" * 64
    report = _fsck(rt)
    assert [(p.kind, p.role, p.document_id) for p in report.problems] == [
        (MISMATCH, "original", docs[3].id)]


def test_sample_checks_some_documents_and_no_orphans(stored):
    rt, docs = stored
    rt.objects.put_bytes("orphan/x.bin", b"nobody's")
    report = _fsck(rt, sample=2, rng=random.Random(7))
    assert (report.mode, report.documents, report.objects) == ("sample", 2, 6)
    assert report.ok and not report.orphans_checked
    everything = _fsck(rt, sample=50)
    assert everything.documents == 5 and everything.ok
    by_fraction = _fsck(rt, fraction=1.0)
    assert by_fraction.documents == 5 and by_fraction.mode == "fraction"
    # a sample finds a corrupt object when it draws its document
    _flip_byte(rt.objects, docs[4].original_key, offset=0)
    assert [p.kind for p in _fsck(rt, fraction=1.0).problems] == [CORRUPT]
    with pytest.raises(FsckError, match="either"):
        _fsck(rt, sample=1, fraction=0.5)
    with pytest.raises(FsckError, match="cannot be resumed"):
        _fsck(rt, sample=1, resume=True)
    with pytest.raises(FsckError, match="fraction"):
        _fsck(rt, fraction=0)


class FailingStore:
    """Delegates to a store; the store 'goes away' on the Nth open."""

    def __init__(self, store, fail_at: int):
        self._store, self.fail_at, self.opened = store, fail_at, []
        self.url = store.url

    def open(self, key):
        if len(self.opened) + 1 == self.fail_at:
            raise ObjectStoreUnavailable("store unreachable (test)")
        self.opened.append(key)
        return self._store.open(key)

    def __getattr__(self, name):
        return getattr(self._store, name)


def test_interrupted_run_resumes_after_the_last_checked_document(stored, monkeypatch):
    rt, docs = stored
    monkeypatch.setattr(storage.fsck, "BATCH", 2)
    state_file = rt.settings.resolved_home / "fsck-state.json"
    rt.objects.delete(docs[0].pdf_key)  # found by the first run, reported again at the end
    failing = FailingStore(rt.objects, fail_at=12)  # during the 3rd batch (documents 5 and 6)
    with pytest.raises(ObjectStoreUnavailable):
        run_fsck(rt.database_url, failing, state_file=state_file)
    state = json.loads(state_file.read_text())
    assert state["last_id"] == docs[3].id and state["documents"] == 4
    assert rt.database_url not in state_file.read_text()  # no credentials in the state

    again = FailingStore(rt.objects, fail_at=0)
    report = run_fsck(rt.database_url, again, state_file=state_file, resume=True)
    assert report.resumed_after == docs[3].id and report.complete
    assert again.opened == [docs[4].original_key, docs[4].pdf_key, docs[4].signed_key]
    assert report.documents == 5
    assert [(p.kind, p.document_id) for p in report.problems] == [(MISSING, docs[0].id)]
    assert not state_file.exists()  # done: the next run starts from the beginning
    assert _fsck(rt, resume=True).documents == 5


def test_state_of_another_catalog_is_refused(stored, tmp_path):
    rt, _ = stored
    state_file = rt.settings.resolved_home / "fsck-state.json"
    state_file.parent.mkdir(parents=True, exist_ok=True)
    state_file.write_text(json.dumps({"version": 1, "catalog": "x", "store": "y",
                                      "last_id": "0"}))
    with pytest.raises(FsckError, match="another catalog"):
        _fsck(rt, resume=True)
    state_file.write_text("{not json")
    with pytest.raises(FsckError, match="unreadable"):
        _fsck(rt, resume=True)


@pytest.fixture
def cli(catalog_runtime):
    from sohoa.commands.storage import register

    app = typer.Typer()
    app.command("version")(lambda: None)
    register(app)
    runner = CliRunner()

    def run(*args, code=0):
        result = runner.invoke(app, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result

    return run


def test_command_exit_codes_and_json(stored, cli):
    rt, docs = stored
    report = json.loads(cli("fsck", "--json").stdout)
    assert report["ok"] and report["documents"] == 5 and report["counts"][CORRUPT] == 0
    _flip_byte(rt.objects, docs[1].signed_key, offset=2999)
    report = json.loads(cli("fsck", "--json", code=1).stdout)
    assert [(p["kind"], p["document_id"]) for p in report["problems"]] == [(CORRUPT, docs[1].id)]
    text = cli("fsck", code=1).output
    assert f"corrupt: {docs[1].signed_key} (signed of document {docs[1].id})" in text
    assert "1 corrupt" in text
    cli("fsck", "--sample", "2", "--resume", code=2)


def test_s3_store(catalog_backend, catalog_runtime, seaweed):
    """The same check against an S3 store (SeaweedFS): a corrupt object, a missing one, an
    orphan."""
    from storage.s3_store import SHA_META, S3ObjectStore
    from tests.storage.conftest import FAST_RETRY, new_bucket_name

    rt = catalog_runtime
    store = S3ObjectStore.from_url(seaweed.bucket_url(new_bucket_name(), **FAST_RETRY))
    docs = sorted((_stored_document(rt, store) for _ in range(3)), key=lambda d: d.id)
    state = rt.settings.resolved_home / "fsck-state.json"
    assert run_fsck(rt.database_url, store, state_file=state).ok

    key = docs[0].pdf_key
    with store.open(key) as stream:
        data = bytearray(stream.read())
    sha = hashlib.sha256(bytes(data)).hexdigest()
    data[100] ^= 0x80  # rewrite the object with one bit changed under its old checksum
    store._client.put_object(store.bucket, key, io.BytesIO(bytes(data)), len(data),
                             metadata={SHA_META.removeprefix("x-amz-meta-"): sha})
    store.delete(docs[2].original_key)
    store.put_bytes("orphan/left.bin", b"left over")
    report = run_fsck(rt.database_url, store, state_file=state)
    assert {(p.kind, p.key) for p in report.problems} == {
        (CORRUPT, key), (MISSING, docs[2].original_key), (ORPHAN, "orphan/left.bin")}
