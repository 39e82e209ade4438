"""Verification of the signatures in a PDF against given trust roots.

Owns: :func:`verify_pdf` and its :class:`VerificationReport`. It never raises on bad input:
a missing file, corrupt bytes or an unsigned PDF give ``valid=False`` with readable problems.

``valid`` means: at least one signature, every signature cryptographically intact and made
with a certificate that chains to a given trust root, and nothing but signature maintenance
(DSS / document timestamps, as added for PAdES B-LT/B-LTA) appended after the last signature.
That last rule is stricter than pyHanko's diff analysis (:mod:`signing.revisions`): an update
changing the Info dictionary or the XMP metadata, objects nothing references, or bytes after
the final ``%%EOF`` make the copy "not the whole file signed", as poppler's pdfsig says.

An untrusted timestamp token proves nothing: it supplies no ``timestamp`` and no
``archive_expires``. Problems are our own sentences; a library's exception text never becomes
one (it is logged at debug level).

Revocation: only what the file embeds is used (DSS OCSP responses / CRLs, PAdES B-LT and up);
nothing is fetched, so a verification never needs the network. With embedded revocation data
the signer's chain must be proven not revoked (hard-fail); without it, ``revocation`` is
``"not_checked"``.

Long-term validation: when the signer's certificate has expired since, a B-LT/B-LTA
signature stays valid if its chain validates at the time proven by its signature timestamp,
with the embedded revocation data, and the newest timestamp (document timestamp for B-LTA)
is still trusted today. That is the classic PAdES-LTV reading; pyHanko's full ETSI EN 319
102-1 past-validation algorithm is not used (it also needs POE bookkeeping we do not keep).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pyhanko.keys import load_certs_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import (
    DocumentSecurityStore,
    validate_pdf_signature,
    validate_pdf_timestamp,
)
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from signing.archive import inspect_reader
from signing.revisions import changes_after_signing
from signing.signer import REQUIRE_REVOCATION

log = logging.getLogger(__name__)


@dataclass
class SignatureInfo:
    """What was found about one signature (regular or document timestamp)."""

    field_name: str
    kind: str  # "signature" or "timestamp"
    intact: bool = False
    trusted: bool = False
    coverage: str | None = None
    modification_level: str | None = None
    signer: str | None = None
    signing_time: str | None = None
    timestamp: str | None = None
    tsa: str | None = None
    revocation: str | None = None  # good | revoked | unknown | not_checked
    timestamp_trusted: bool | None = None  # of its RFC 3161 token; None: no token
    validated_at: str | None = None  # "now", or the timestamp time used for an expired cert
    problems: list[str] = field(default_factory=list)


@dataclass
class VerificationReport:
    valid: bool
    intact: bool
    trusted: bool
    coverage: str | None
    modified_after_signing: bool
    signer: str | None
    signing_time: str | None
    signature_count: int
    problems: list[str] = field(default_factory=list)
    signatures: list[SignatureInfo] = field(default_factory=list)
    timestamp: str | None = None  # RFC 3161 time of the main signature (PAdES B-T and up)
    level: str | None = None  # PAdES level detected: B-B, B-T, B-LT, B-LTA
    revocation: str | None = None  # of the main signer: good | revoked | unknown | not_checked
    timestamps: list[dict] = field(default_factory=list)  # signature + document timestamps
    archive_expires: str | None = None  # TSA certificate expiry of the newest timestamp
    agency: str | None = None  # the main signature's /Name: the agency that made the copy
    agency_code: str | None = None  # its /ContactInfo as sohoa writes it: the agency's code

    def to_dict(self) -> dict:
        return asdict(self)


def _fail(problem: str) -> VerificationReport:
    return VerificationReport(
        valid=False, intact=False, trusted=False, coverage=None,
        modified_after_signing=False, signer=None, signing_time=None,
        signature_count=0, problems=[problem],
    )


def _load_trust_roots(paths: list[Path]) -> tuple[list, list[str]]:
    certs, problems = [], []
    for p in paths:
        try:
            certs.extend(load_certs_from_pemder([str(p)]))
        except (OSError, ValueError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a certificate"
            problems.append(f"{p}: cannot read trust root ({why})")
    return certs, problems


def _cn(cert) -> str:
    name = cert.subject.native
    return name.get("common_name") or cert.subject.human_friendly


def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


def _run_sync(fn, *args, **kwargs):
    """pyHanko's sync validators call asyncio.run(): go to a thread if a loop is running."""
    try:
        asyncio.get_running_loop()
        running = True
    except RuntimeError:
        running = False
    if not running:  # called outside the except block: no chained tracebacks in logs
        return fn(*args, **kwargs)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as ex:
        return ex.submit(fn, *args, **kwargs).result()


class _Contexts:
    """Validation contexts for one file: trust roots plus what its DSS embeds."""

    def __init__(self, reader: PdfFileReader, roots: list) -> None:
        self.roots = roots
        try:
            self.dss = DocumentSecurityStore.read_dss(reader)
        except NoDSSFoundError:
            self.dss = None
        self.has_revinfo = bool(self.dss is not None and (self.dss.ocsps or self.dss.crls))

    def make(self, *, hard: bool, moment=None) -> ValidationContext:
        kwargs = dict(trust_roots=self.roots, allow_fetching=False)
        if hard:
            kwargs["revinfo_policy"] = REQUIRE_REVOCATION
        else:
            kwargs["revocation_mode"] = "soft-fail"
        if moment is not None:
            kwargs.update(moment=moment, retroactive_revinfo=True)
        if self.dss is not None:
            return self.dss.as_validation_context(kwargs)
        return ValidationContext(**kwargs)


_EXPIRY_INDICS = {"OUT_OF_BOUNDS_NO_POE", "OUT_OF_BOUNDS_NOT_REVOKED", "EXPIRED",
                  "NO_POE"}


def _validate(emb, ctx: _Contexts, is_ts: bool, *, hard: bool, moment=None):
    vc = ctx.make(hard=hard, moment=moment)
    if is_ts:
        return _run_sync(validate_pdf_timestamp, emb, validation_context=vc)
    return _run_sync(validate_pdf_signature, emb, signer_validation_context=vc,
                     ts_validation_context=ctx.make(hard=False))


def _check_one(emb, ctx: _Contexts, index: int) -> SignatureInfo:
    is_ts = emb.sig_object_type == "/DocTimeStamp"
    info = SignatureInfo(
        field_name=str(emb.field_name or f"#{index + 1}"),
        kind="timestamp" if is_ts else "signature",
    )
    label = f"signature {info.field_name}"
    # Signatures are checked against embedded revocation data when the file has some
    # (hard-fail); the newest document timestamp never has its own yet: soft-fail.
    hard = ctx.has_revinfo and not is_ts
    tsv = None
    try:
        status = _validate(emb, ctx, is_ts, hard=hard)
    except Exception as exc:  # pyHanko raises many kinds on malformed CMS; report, don't crash
        log.debug("validation of %s failed", label, exc_info=True)
        info.problems.append(f"{label}: cannot be validated (malformed signature data: "
                             f"{type(exc).__name__})")
        return info
    info.intact = bool(status.intact and status.valid)
    info.trusted = bool(status.trusted)
    info.validated_at = "now"
    info.coverage = status.coverage.name if status.coverage is not None else None
    level = status.modification_level
    info.modification_level = level.name if level is not None else None
    try:
        info.signer = _cn(status.signing_cert)
    except Exception:  # noqa: BLE001 - a name we cannot read is not a reason to fail
        info.signer = None
    if is_ts:
        info.timestamp_trusted = info.trusted and info.intact
        # an untrusted timestamp proves no time
        info.timestamp = _iso(getattr(status, "timestamp", None)) if info.timestamp_trusted \
            else None
        info.signing_time = info.timestamp
        info.tsa = info.signer
    else:
        info.signing_time = _iso(status.signer_reported_dt)
        tsv = status.timestamp_validity
        if tsv is not None:
            info.timestamp_trusted = bool(tsv.trusted and tsv.intact and tsv.valid)
            info.timestamp = _iso(tsv.timestamp) if info.timestamp_trusted else None
            try:
                info.tsa = _cn(tsv.signing_cert)
            except Exception:  # noqa: BLE001
                info.tsa = None
            if not info.timestamp_trusted:
                info.problems.append(f"{label}: its timestamp token is not trusted: it proves "
                                     "no signing time")
    indic = status.trust_problem_indic.name if status.trust_problem_indic else None
    if (not is_ts and status.intact and status.valid and not status.trusted
            and not status.revoked and indic in _EXPIRY_INDICS and ctx.has_revinfo
            and tsv is not None and tsv.trusted):
        # long-term validation: the chain at the time the signature timestamp proves
        try:
            past = _validate(emb, ctx, False, hard=True, moment=tsv.timestamp)
        except Exception:  # noqa: BLE001 - keep the first verdict
            log.debug("past validation of %s failed", label, exc_info=True)
            past = None
        if past is not None and past.trusted and past.intact and past.valid:
            status, info.trusted = past, True
            info.validated_at = _iso(tsv.timestamp)
    if is_ts:
        info.revocation = None
    elif status.revoked:
        info.revocation = "revoked"
    elif not ctx.has_revinfo:
        info.revocation = "not_checked"
    else:
        info.revocation = "good" if status.trusted else "unknown"
    if not status.intact:
        info.problems.append(f"{label}: the signed bytes were changed (digest mismatch)")
    elif not status.valid:
        info.problems.append(f"{label}: the cryptographic signature is invalid")
    if status.intact and status.valid and not info.trusted:
        why = status.trust_problem_indic.name if status.trust_problem_indic else "no path"
        if status.revoked:
            why = "certificate revoked"
        elif indic in _EXPIRY_INDICS:
            why = f"{why}: certificate expired and no long-term validation data covers it"
        elif hard and info.revocation == "unknown":
            why = f"{why}: the embedded revocation data does not cover it"
        info.problems.append(
            f"{label}: certificate '{info.signer}' is not trusted ({why})"
        )
    if not is_ts and status.docmdp_ok is False:
        info.problems.append(f"{label}: changes after signing break its modification policy")
    return info


def verify_pdf(data: bytes | Path | str, trust_roots: list[Path]) -> VerificationReport:
    """Check every signature in ``data`` (PDF bytes or a path) against ``trust_roots``.

    A path is read as a stream (signed ranges are hashed from the file), never whole."""
    if isinstance(data, (str, Path)):
        path = Path(data)
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed below, after validation
        except OSError as exc:
            return _fail(f"{path}: cannot read: {exc}")
        try:
            return _verify_stream(handle, trust_roots)
        finally:
            handle.close()
    return _verify_stream(io.BytesIO(bytes(data)), trust_roots)


def _verify_stream(stream, trust_roots: list[Path]) -> VerificationReport:
    if stream.read(1024).lstrip()[:5] != b"%PDF-":
        return _fail("not a PDF file (no %PDF- header)")
    stream.seek(0)
    roots, root_problems = _load_trust_roots([Path(p) for p in trust_roots])
    if not roots:
        root_problems.append("no trust roots given: no signature can be trusted")
    try:
        reader = PdfFileReader(stream, strict=False)
        embedded = list(reader.embedded_signatures)
    except Exception as exc:  # corrupt structure: report, never a traceback
        log.debug("reading the PDF structure failed", exc_info=True)
        return _fail(f"cannot read the PDF structure (damaged file: {type(exc).__name__})")
    if not embedded:
        report = _fail("the PDF has no signature")
        report.problems.extend(root_problems)
        return report

    try:
        ctx = _Contexts(reader, roots)
        archive = inspect_reader(reader)
    except Exception as exc:  # a broken DSS or token: report, never a traceback
        log.debug("reading the long-term data failed", exc_info=True)
        return _fail(f"cannot read the signatures' long-term validation data (DSS or "
                     f"timestamp tokens are damaged: {type(exc).__name__})")
    infos = [_check_one(emb, ctx, i) for i, emb in enumerate(embedded)]
    regular = [i for i in infos if i.kind == "signature"]
    problems = list(root_problems)
    for info in infos:
        problems.extend(info.problems)

    modified = False
    maintenance = {ModificationLevel.NONE.name, ModificationLevel.LTA_UPDATES.name}
    later_ok = maintenance | {ModificationLevel.FORM_FILLING.name}
    for idx, info in enumerate(infos):
        last = idx == len(infos) - 1
        if info.coverage == SignatureCoverageLevel.ENTIRE_FILE.name:
            continue
        is_last_regular = bool(regular) and info is regular[-1]
        allowed = maintenance if (is_last_regular or last) else later_ok
        if info.modification_level not in allowed:
            modified = True
            problems.append(
                f"signature {info.field_name}: the document was changed after signing "
                f"(coverage {info.coverage}, changes: {info.modification_level or 'unknown'})"
            )

    # pyHanko's diff analysis lets through what a legal copy must not: stricter here
    after = changes_after_signing(reader, embedded)
    if after:
        modified = True
        problems.extend(f"not the whole file is signed: {p}" for p in after)

    main = regular[-1] if regular else infos[-1]
    by_field = {(i.kind, i.field_name): i for i in infos}
    timestamps = []
    for ts in archive.timestamps:  # an untrusted token supplies no time and no expiry
        info = by_field.get(("signature" if ts.kind == "signature" else "timestamp",
                             ts.field_name))
        trusted = bool(info is not None and info.timestamp_trusted)
        entry = asdict(ts) | {"trusted": trusted}
        if not trusted:
            entry.update(time=None, tsa_cert_expires=None)
        timestamps.append(entry)
    newest = timestamps[-1] if timestamps else None
    agency, agency_code = _signatory(embedded[next(i for i, x in enumerate(infos) if x is main)])
    intact = all(i.intact for i in infos)
    trusted = all(i.trusted for i in infos)
    valid = bool(regular) and intact and trusted and not modified and not root_problems
    if not regular:
        problems.append("the PDF has only document timestamps, no signature")
    return VerificationReport(
        valid=valid,
        intact=intact,
        trusted=trusted,
        coverage=main.coverage,
        modified_after_signing=modified,
        signer=main.signer,
        signing_time=main.signing_time,
        signature_count=len(regular),
        problems=problems,
        signatures=infos,
        timestamp=main.timestamp,
        level=archive.level,
        revocation=main.revocation,
        timestamps=timestamps,
        archive_expires=newest["tsa_cert_expires"] if newest else None,
        agency=agency,
        agency_code=agency_code,
    )


def _signatory(emb) -> tuple[str | None, str | None]:
    """(/Name, /ContactInfo) of a signature dictionary, as text."""
    values = []
    for key in ("/Name", "/ContactInfo"):
        try:
            value = emb.sig_object.get(key)
            values.append(str(value).strip() or None if value is not None else None)
        except Exception:  # noqa: BLE001 - a malformed entry is simply not reported
            values.append(None)
    return values[0], values[1]
