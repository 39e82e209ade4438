"""Long-term archive state of a signed PDF and extension of its archival timestamps.

Owns: :func:`inspect_pdf`/:func:`inspect_file` (PAdES level detected, timestamps and when the
newest timestamp's TSA certificate expires — no cryptographic validation, see
:mod:`signing.verify` for that), :func:`catalog_values` (that state as the catalog records it:
``documents.signature_level``/``archive_expires_at``) and :func:`extend_archive` (PAdES
B-LTA extension: validation data for the newest timestamp goes into the DSS, then a new
document timestamp covers everything; an incremental update, the signed bytes are never
rewritten).

A B-LTA document stays verifiable as long as its newest document timestamp can be validated:
before that timestamp's TSA certificate expires (or its algorithms weaken) a new one must be
added — ``sohoa signatures refresh`` does it for stored documents.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import asdict, dataclass, field

from asn1crypto import cms
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers

from signing.signer import SigningError, online_validation_context


@dataclass
class TimestampInfo:
    kind: str  # "signature" (RFC 3161 token in the CMS, B-T) or "document" (B-LTA)
    field_name: str
    time: str | None
    tsa: str | None
    tsa_cert_expires: str | None

    @property
    def expires_at(self) -> dt.datetime | None:
        return dt.datetime.fromisoformat(self.tsa_cert_expires) if self.tsa_cert_expires else None


@dataclass
class ArchiveState:
    level: str | None  # "B-B", "B-T", "B-LT", "B-LTA"; None: no PAdES signature
    has_revocation_data: bool  # a DSS with OCSP responses or CRLs
    timestamps: list[TimestampInfo] = field(default_factory=list)

    @property
    def newest_timestamp(self) -> TimestampInfo | None:
        return self.timestamps[-1] if self.timestamps else None

    @property
    def expires_at(self) -> dt.datetime | None:
        """When the newest timestamp's TSA certificate expires (refresh before that)."""
        newest = self.newest_timestamp
        return newest.expires_at if newest else None

    def to_dict(self) -> dict:
        return asdict(self)


def _cn(cert) -> str:
    return cert.subject.native.get("common_name") or cert.subject.human_friendly


def _token_info(signed_data: cms.SignedData) -> tuple[dt.datetime | None, object | None]:
    """(genTime, TSA certificate) of an RFC 3161 token's SignedData."""
    tst = signed_data["encap_content_info"]["content"].parsed
    gen_time = tst["gen_time"].native
    sid = signed_data["signer_infos"][0]["sid"]
    cert = None
    for choice in signed_data["certificates"] or []:
        c = choice.chosen
        if sid.name == "issuer_and_serial_number":
            ias = sid.chosen
            if c.serial_number == ias["serial_number"].native and c.issuer == ias["issuer"]:
                cert = c
                break
        elif c.key_identifier == sid.chosen.native:
            cert = c
            break
    return gen_time, cert


def _ts(kind: str, name: str, signed_data: cms.SignedData) -> TimestampInfo:
    gen_time, cert = _token_info(signed_data)
    return TimestampInfo(
        kind=kind, field_name=name,
        time=gen_time.isoformat() if gen_time else None,
        tsa=_cn(cert) if cert is not None else None,
        tsa_cert_expires=cert.not_valid_after.isoformat() if cert is not None else None,
    )


def has_revocation_data(reader: PdfFileReader) -> bool:
    dss = reader.root.get("/DSS")
    if dss is None:
        return False
    dss = dss.get_object()
    # the arrays may be direct or indirect objects: dss[key] dereferences, .get() does not
    return any(key in dss and len(dss[key].get_object()) for key in ("/OCSPs", "/CRLs"))


def inspect_reader(reader: PdfFileReader) -> ArchiveState:
    embedded = list(reader.embedded_signatures)
    regular = [e for e in embedded if e.sig_object_type != "/DocTimeStamp"]
    revdata = has_revocation_data(reader)
    state = ArchiveState(level=None, has_revocation_data=revdata)
    if not regular:
        return state
    main = regular[-1]
    subfilter = str(main.sig_object.get("/SubFilter", ""))
    for e in embedded:
        name = str(e.field_name)
        if e.sig_object_type == "/DocTimeStamp":
            state.timestamps.append(_ts("document", name, e.signed_data))
            continue
        unsigned = e.signer_info["unsigned_attrs"]
        for attr in unsigned if unsigned.native is not None else []:
            if attr["type"].native == "signature_time_stamp_token":
                token = attr["values"][0]
                state.timestamps.append(_ts("signature", name, token["content"]))
    if subfilter != "/ETSI.CAdES.detached":
        return state  # a legacy (PKCS#7) signature: not PAdES
    main_index = embedded.index(main)
    has_sig_ts = any(t.kind == "signature" and t.field_name == str(main.field_name)
                     for t in state.timestamps)
    later_dts = [e for e in embedded[main_index + 1:] if e.sig_object_type == "/DocTimeStamp"]
    if revdata and later_dts:
        state.level = "B-LTA"
    elif revdata and has_sig_ts:
        state.level = "B-LT"
    elif has_sig_ts or later_dts:
        state.level = "B-T"
    else:
        state.level = "B-B"
    return state


def inspect_pdf(data: bytes) -> ArchiveState:
    """Archive state of a signed PDF; ``ValueError`` if the PDF cannot be read."""
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        return inspect_reader(reader)
    except ValueError:
        raise
    except Exception as exc:  # pyHanko raises many kinds on corrupt files
        raise ValueError(f"cannot read the signed PDF: {exc}") from exc


def inspect_file(path) -> ArchiveState:
    """:func:`inspect_pdf` of a local file, read as pyHanko needs it rather than whole."""
    try:
        with open(path, "rb") as fh:
            return inspect_reader(PdfFileReader(fh, strict=False))
    except Exception as exc:  # pyHanko raises many kinds on corrupt files
        raise ValueError(f"cannot read the signed PDF: {exc}") from exc


UNSIGNED = "unsigned"  # recorded level of a PDF without a PAdES signature


def catalog_values(state: ArchiveState) -> tuple[str, dt.datetime | None]:
    """(signature_level, archive_expires_at) as the catalog keeps them: the level, or
    ``"unsigned"`` so the PDF is not read again; the expiry in UTC (SQLite keeps no offset)."""
    expires = state.expires_at
    if expires is not None:
        expires = (expires if expires.tzinfo else expires.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    return state.level or UNSIGNED, expires


def needs_refresh(state: ArchiveState, *, within: dt.timedelta,
                  now: dt.datetime | None = None) -> bool:
    """True if the newest timestamp's TSA certificate expires within ``within``."""
    expires = state.expires_at
    if state.level is None or expires is None:
        return False
    return expires - (now or dt.datetime.now(dt.UTC)) <= within


def extend_archive(pdf: bytes, *, timestamper, trust_roots: list) -> bytes:
    """Add validation data for the newest timestamp and a new document timestamp.

    ``timestamper``: a pyHanko timestamper (``SignerProvider.timestamper``);
    ``trust_roots``: asn1crypto certificates (``SignerProvider.trust_root_certs()``).
    Revocation data is fetched online (hard-fail): a refresh that cannot prove the previous
    timestamp still valid fails with :class:`SigningError` and changes nothing.
    """
    if timestamper is None:
        raise SigningError("extending archival timestamps needs a time-stamping service "
                           "(SOHOA_TSA_URL)")
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        existing = {str(e.field_name) for e in reader.embedded_signatures}
    except Exception as exc:
        raise SigningError(f"cannot read the signed PDF: {exc}") from exc
    n = 1
    while f"ArchiveTimestamp{n}" in existing:
        n += 1
    vc = online_validation_context(trust_roots)
    try:
        out = signers.PdfTimeStamper(
            timestamper, field_name=f"ArchiveTimestamp{n}"
        ).update_archival_timestamp_chain(reader, vc, in_place=False)
    except SigningError:
        raise
    except Exception as exc:
        raise SigningError(f"cannot extend the archival timestamp: {exc}") from exc
    data = out.getvalue()
    if not data.startswith(pdf):
        raise SigningError("extending the archival timestamp rewrote the signed bytes")
    return data
