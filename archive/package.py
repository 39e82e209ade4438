"""Export packages of archive records (Circular 05/2025/TT-BNV): the submission package (gói
tin nộp lưu, SIP) for the archive and the dissemination package (gói tin sử dụng, DIP) for a
person who asked for a copy. The layout is in docs/records.md, "Export packages".

A package is a BagIt 1.0 bag (`archive.bag`) of, per record, ``record.json`` and, per
document, ``document.json``, the signed PDF and (SIP only) the original scan. Everything
streams: entries come one at a time from the catalog (`storage.records.iter_export_entries`,
``yield_per``), each object is copied from the object store in chunks while hashed (the store
also checks the catalog's sha256 at the end of each object), and no list of documents is kept.
The bag is written into a temporary folder beside OUT, re-read and checked (every payload
checksum, every signed PDF through `signing.verify`), and only then renamed to OUT: a failure
leaves nothing at OUT, and says which record and document and why.

A DIP honours each record's access level: records of conditional access (tiếp cận có điều
kiện) are refused unless the caller allows them (``restricted="allow"``) or asks to leave them
out (``restricted="exclude"``); personal data in the record and document data is masked with
the API's rule (`storage.pii`) unless ``personal_data=True``. A DIP carries the signed copies
only: the original scans are preservation masters and stay in the archive.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from archive.bag import BagWriter, check_bag
from signing.verify import verify_pdf
from storage.objects import ObjectIntegrityError, ObjectNotFound, ObjectStore, ObjectStoreError
from storage.pii import mask_personal

KINDS = ("sip", "dip")
RESTRICTED = ("refuse", "exclude", "allow")
OPEN_ACCESS = "open"  # tiếp cận rộng rãi; anything else is restricted for a DIP
KIND_NAMES = {"sip": "gói tin nộp lưu (SIP)", "dip": "gói tin sử dụng (DIP)"}
PROFILE = "sohoa-records-package/1"
SIGNED_NAME = "signed.pdf"


class ExportEntry(Protocol):
    """One document of a record, as `storage.records.iter_export_entries` yields it:
    `record` is the record's data (the same dict for each of its documents, keys as
    `storage.records.record_dict`), `document` the document's (`document_dict`)."""

    record: dict
    document: dict


class PackageError(Exception):
    """The package cannot be made; the message names the record, document and problem."""


@dataclass
class PackageReport:
    kind: str
    path: Path
    records: int = 0
    documents: int = 0
    payload_bytes: int = 0
    excluded: list[str] = field(default_factory=list)  # restricted records left out (DIP)
    restricted_included: list[str] = field(default_factory=list)  # allowed explicitly (DIP)
    personal_data: str = "full"  # full | masked
    signatures_checked: int = 0
    units: set[str] = field(default_factory=set)  # names of the records' units (a handful)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def safe_name(code: str) -> str:
    """A record code as a folder name: letters, digits, '.', '_' and '-' kept, others '_'."""
    name = re.sub(r"[^0-9A-Za-z._-]", "_", code.strip()) or "_"
    return "_" + name if name.startswith(".") else name


def _json(value: Any) -> str:
    def default(obj):
        if isinstance(obj, datetime):  # the catalog keeps UTC; SQLite hands it back naive
            moment = obj if obj.tzinfo else obj.replace(tzinfo=UTC)
            return moment.astimezone(UTC).isoformat(timespec="seconds")
        if isinstance(obj, date):
            return obj.isoformat()
        return str(obj)

    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=default) + "\n"


def _suffix(name: str | None) -> str:
    suffix = PurePosixPath(name or "").suffix.lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,5}", suffix) else ".bin"


def write_package(entries: Iterable[ExportEntry], objects: ObjectStore, out: Path, *,
                  kind: str, trust_roots: list[Path], restricted: str = "refuse",
                  personal_data: bool = False, agent: str = "sohoa",
                  organization: str | None = None, jobs: int = 1,
                  on_record: Callable[[dict, str], None] | None = None) -> PackageReport:
    """Write the package of `entries` to `out` (which must not exist) and verify it.

    Raises PackageError when it cannot be made (nothing is left at `out`). Verification
    problems are returned in the report; then nothing is left at `out` either."""
    if kind not in KINDS:
        raise PackageError(f"package must be one of {', '.join(KINDS)} (got {kind!r})")
    if restricted not in RESTRICTED:
        raise PackageError(f"restricted must be one of {', '.join(RESTRICTED)}")
    out = Path(out)
    if out.exists():
        raise PackageError(f"{out} already exists: give a new folder for the package")
    if not out.parent.is_dir():
        raise PackageError(f"{out.parent} is not a folder")
    dip = kind == "dip"
    report = PackageReport(kind=kind, path=out,
                           personal_data="masked" if dip and not personal_data else "full")
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent))
    bag = None
    try:
        bag = BagWriter(work / "bag")
        _write(bag, entries, objects, report, dip=dip, restricted=restricted,
               mask=dip and not personal_data, on_record=on_record)
        if report.documents == 0:
            raise PackageError("no document to export" + (
                f" (restricted records left out: {', '.join(report.excluded)})"
                if report.excluded else ""))
        bag.add_tag_file("package.json", _json(_package_info(report, agent)))
        # the records' own unit when they share one (else say so), unless given
        source = organization or (next(iter(report.units)) if len(report.units) == 1
                                  else f"{len(report.units)} đơn vị" if report.units else "sohoa")
        info = [("Source-Organization", source),
                ("External-Identifier", f"{kind.upper()}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"),
                ("External-Description", f"{KIND_NAMES[kind]} — Circular 05/2025/TT-BNV, "
                 f"{report.records} hồ sơ, {report.documents} tài liệu"),
                ("Bag-Software-Agent", agent), ("BagIt-Profile-Identifier", PROFILE),
                ("Sohoa-Package-Type", kind.upper()),
                ("Sohoa-Personal-Data", report.personal_data)]
        bag.finish(info)
        report.payload_bytes = bag.octets
        report.problems = verify_package(work / "bag", trust_roots, jobs=jobs, report=report)
        if report.problems:
            shutil.rmtree(work, ignore_errors=True)
            return report
        os.replace(work / "bag", out)
        shutil.rmtree(work, ignore_errors=True)
        return report
    except BaseException:
        if bag is not None:
            bag.abort()
        shutil.rmtree(work, ignore_errors=True)
        raise


def _write(bag: BagWriter, entries, objects, report: PackageReport, *, dip: bool,
           restricted: str, mask: bool, on_record) -> None:
    current: str | None = None  # the record code being written (entries come by record)
    folder = ""
    skipping = False
    used: set[str] = set()  # one folder name per record (codes are unique, their safe names
    # almost always; a clash gets a suffix) — bounded by the number of records, not documents
    for entry in entries:
        record, document = entry.record, entry.document
        if record["code"] != current:
            current = code = record["code"]
            skipping = False
            if dip and record.get("access_level") != OPEN_ACCESS:
                if restricted == "refuse":
                    raise PackageError(
                        f"record {code}: access level {record.get('access_level')} (tiếp cận "
                        "có điều kiện): a DIP needs it allowed explicitly (--allow-restricted) "
                        "or left out (--skip-restricted)")
                if restricted == "exclude":
                    report.excluded.append(code)
                    skipping = True
                    if on_record is not None:
                        on_record(record, "excluded")
                    continue
                report.restricted_included.append(code)
                status = "restricted-allowed"
            else:
                status = "written"
            folder = safe_name(code)
            while folder in used:
                folder += "_"
            used.add(folder)
            data = _record_data(record, mask)
            data["folder"] = f"data/{folder}"
            bag.add_bytes(f"{folder}/record.json", _json(data).encode())
            report.records += 1
            if (record.get("unit") or {}).get("name"):
                report.units.add(record["unit"]["name"])
            if on_record is not None:
                on_record(record, status)
        if skipping:
            continue
        _write_document(bag, objects, folder, record["code"], document, dip=dip, mask=mask)
        report.documents += 1


def _record_data(record: dict, mask: bool) -> dict:
    data = dict(record)
    if mask:
        data = mask_personal(data)
    return data


def _write_document(bag: BagWriter, objects: ObjectStore, folder: str, code: str,
                    document: dict, *, dip: bool, mask: bool) -> None:
    seq = document.get("sequence")
    name = f"{int(seq):03d}" if isinstance(seq, int) else safe_name(str(document["document_id"]))
    where = f"record {code}, document {document.get('code') or document['document_id']}"
    if not document.get("signed_key"):
        raise PackageError(f"{where}: no signed PDF (state {document.get('state')}): finish its "
                           "review and signing first, or leave the record out")
    files = {"signed_pdf": f"data/{folder}/{name}/{SIGNED_NAME}"}
    _copy(bag, objects, f"{folder}/{name}/{SIGNED_NAME}", document["signed_key"],
          document.get("signed_sha256"), where, "signed PDF")
    if not dip:
        if not document.get("original_key"):
            raise PackageError(f"{where}: its original scan is not in the object store "
                               "(no original key): a SIP carries every original")
        original = f"original{_suffix(document.get('original_name'))}"
        files["original"] = f"data/{folder}/{name}/{original}"
        _copy(bag, objects, f"{folder}/{name}/{original}", document["original_key"],
              document.get("original_sha256"), where, "original scan")
    data = {k: v for k, v in document.items()
            if k not in ("signed_key", "original_key")}  # object keys are ours, not the archive's
    if dip:
        data.pop("original_sha256", None)
        data.pop("original_name", None)
    if mask:
        data = mask_personal(data)
    data["files"] = files
    bag.add_bytes(f"{folder}/{name}/document.json", _json(data).encode())


def _copy(bag: BagWriter, objects: ObjectStore, relpath: str, key: str, sha: str | None,
          where: str, what: str) -> None:
    try:
        with objects.open(key, sha) as stream:
            actual, _size = bag.add_stream(relpath, stream)
    except ObjectIntegrityError:
        raise PackageError(f"{where}: its {what} ({key}) does not match the catalog's sha256: "
                           "refused (run `sohoa fsck`)") from None
    except ObjectNotFound:
        raise PackageError(f"{where}: its {what} ({key}) is missing from the object store"
                           ) from None
    except ObjectStoreError as exc:
        raise PackageError(f"{where}: the object store failed reading its {what}: {exc}"
                           ) from None
    except OSError as exc:
        raise PackageError(f"{where}: cannot write its {what}: {exc.strerror or exc}") from None
    if sha and actual != sha.lower():  # the store checked it too; this is the bag's own hash
        raise PackageError(f"{where}: its {what} copied as sha256 {actual}, not {sha}")


def _package_info(report: PackageReport, agent: str) -> dict:
    return {
        "profile": PROFILE, "package": report.kind, "name": KIND_NAMES[report.kind],
        "circular": "05/2025/TT-BNV", "created_at": datetime.now(UTC).isoformat(
            timespec="seconds"), "software": agent, "records": report.records,
        "documents": report.documents, "personal_data": report.personal_data,
        "restricted_records_included": report.restricted_included,
        "restricted_records_excluded": report.excluded,
        "layout": {"record": "data/<record folder>/record.json",
                   "document": "data/<record folder>/<sequence>/document.json",
                   "signed_pdf": f"data/<record folder>/<sequence>/{SIGNED_NAME}",
                   "original": None if report.kind == "dip"
                   else "data/<record folder>/<sequence>/original.<ext>"},
    }


# ------------------------------------------------------------------------------ verification


def _verify_signature(path: str, roots: list[str]) -> tuple[str, list[str]]:
    import logging

    for name in ("pyhanko", "pyhanko_certvalidator"):  # the verdict says why; no tracebacks
        logging.getLogger(name).setLevel(logging.CRITICAL)
    result = verify_pdf(Path(path), [Path(r) for r in roots])
    return path, ([] if result.valid else (result.problems or ["signature not valid"]))


def verify_package(root: Path, trust_roots: list[Path], *, jobs: int = 1,
                   report: PackageReport | None = None) -> list[str]:
    """Problems found re-reading the package at `root`: every payload checksum (BagIt), and
    every signed PDF through `signing.verify` against `trust_roots` (in `jobs` processes; at
    most a few files in flight, so memory stays bounded). Empty: the package verifies."""
    root = Path(root)
    roots = [str(p) for p in trust_roots]
    problems: list[str] = []
    checked = 0

    def outcome(path: str, found: list[str]) -> None:
        nonlocal checked
        checked += 1
        rel = Path(path).relative_to(root).as_posix()
        problems.extend(f"{rel}: {p}" for p in found)

    # spawned, not forked: the exporting process holds database connections and threads
    pool = (ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))
            if jobs > 1 else None)
    pending: list[Future] = []

    def on_file(rel: str, path: Path) -> None:
        if not rel.endswith("/" + SIGNED_NAME):
            return
        if pool is None:
            outcome(*_verify_signature(str(path), roots))
            return
        pending.append(pool.submit(_verify_signature, str(path), roots))
        while len(pending) >= jobs * 4:
            outcome(*pending.pop(0).result())

    try:
        problems.extend(check_bag(root, on_file))
        for future in pending:
            outcome(*future.result())
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    if report is not None:
        report.signatures_checked = checked
    if checked == 0 and not problems:
        problems.append("the package holds no signed PDF")
    return problems
