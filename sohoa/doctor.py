"""`sohoa doctor`: check the configuration and every service it names, and say how to fix each fault.

Each check is independent, bounded in time (short connect timeouts, one try) and never raises:
it returns a :class:`Finding` with a status (`ok`, `warn`, `fail`), what it saw, and — for a
fault — the command or setting that fixes it. `run_checks` runs them all; the command prints a
table (or JSON lines) and exits 1 when any check failed, so scripts and monitoring can use it.
"""

from __future__ import annotations

import datetime as dt
import shutil
import socket
import tempfile
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlparse, urlunparse

OK, WARN, FAIL = "ok", "warn", "fail"
KEY_EXPIRY_DAYS = 30
MIN_FREE_BYTES = 2 * 1024**3
CONNECT_TIMEOUT_S = 3


@dataclass(frozen=True)
class Finding:
    check: str
    status: str
    detail: str
    fix: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def _short(exc: BaseException) -> str:
    """One line for an exception: its type and the first line of its message, no traceback."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


def check_settings() -> tuple[Finding, object | None]:
    from pydantic import ValidationError

    from sohoa.settings import Settings

    try:
        settings = Settings()
    except ValidationError as exc:
        bad = ", ".join(f"SOHOA_{'_'.join(map(str, e['loc'])).upper()}" for e in exc.errors())
        return Finding("settings", FAIL, f"invalid values: {bad}",
                       "correct these environment variables (see docs/operations.md)"), None
    return Finding("settings", OK, f"home {settings.resolved_home}"), settings


def check_catalog(settings) -> Finding:
    from sqlalchemy import create_engine, text

    from storage import db

    url = settings.catalog_url
    args = {"connect_timeout": CONNECT_TIMEOUT_S} if url.startswith("postgresql") else {}
    engine = create_engine(url, connect_args=args) if args else None
    try:
        if engine is not None:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        current, head = db.current_revision(url), db.head_revision(url)
    except Exception as exc:  # noqa: BLE001 - a check reports, never raises
        return Finding("catalog", FAIL, f"{_redact(url)} unreachable: {_short(exc)}",
                       "start the database or correct SOHOA_DATABASE_URL")
    finally:
        if engine is not None:
            engine.dispose()
    if current == head:
        return Finding("catalog", OK, f"{_redact(url)} at migration head {head}")
    if url.startswith("sqlite"):
        return Finding("catalog", WARN, f"embedded catalog at {current or 'empty'}, code at {head}",
                       "it upgrades itself on first use (or run `sohoa db upgrade`)")
    return Finding("catalog", FAIL, f"schema at {current or 'empty'}, code expects {head}",
                   "run `sohoa db upgrade` (after a backup: `sohoa backup`)")


def _quick_store_url(url: str) -> str:
    """An S3 URL made to fail fast (one try, short timeout) for a probe."""
    if not url.startswith("s3"):
        return url
    parsed = urlparse(url)
    query = dict(parse_qsl(parsed.query))
    query.update(tries="1", timeout=str(CONNECT_TIMEOUT_S))
    return urlunparse(parsed._replace(query=urlencode(query)))


def check_objects(settings) -> Finding:
    from storage.objects import open_object_store

    url = settings.objects_url
    key = f"doctor/probe-{uuid.uuid4().hex}"
    payload = b"sohoa doctor probe\n"
    try:
        store = open_object_store(_quick_store_url(url))
        store.put_bytes(key, payload)
        if store.get_bytes(key) != payload:
            return Finding("objects", FAIL, f"{_redact(url)}: read back different bytes",
                           "check the object store's health (disk, replication)")
        store.delete(key)
    except Exception as exc:  # noqa: BLE001
        return Finding("objects", FAIL, f"{_redact(url)} write/read failed: {_short(exc)}",
                       "start the object store, create the bucket, or correct SOHOA_STORAGE_URL "
                       "and its credentials")
    return Finding("objects", OK, f"{_redact(url)} write, read and delete")


def check_broker(settings) -> Finding:
    from pipeline.broker import INLINE, BrokerConfigError, BrokerUnavailable, ping_broker, redact

    url = settings.broker_url
    try:
        facts = ping_broker(url, timeout=CONNECT_TIMEOUT_S)
    except BrokerConfigError as exc:
        return Finding("broker", FAIL, str(exc), "correct SOHOA_BROKER_URL")
    except BrokerUnavailable as exc:
        cause = _short(exc.__cause__) if exc.__cause__ else ""
        return Finding("broker", FAIL, f"{exc} ({cause})" if cause else str(exc),
                       "start the broker or correct SOHOA_BROKER_URL")
    if facts["kind"] == INLINE:
        return Finding("broker", OK, "inline: stages run in-process (no workers)")
    if facts["kind"] == "redis" and facts.get("appendonly") == "no":
        return Finding("broker", WARN, f"{redact(url)} answers; appendonly=no",
                       "a Redis restart loses queued messages until the sweeper re-sends them: "
                       "set `appendonly yes` (docs/operations.md)")
    return Finding("broker", OK, f"{redact(url)} answers")


def check_signing_keys(settings, now: dt.datetime | None = None) -> Finding:
    from signing.signer import SignerProvider

    now = now or dt.datetime.now(dt.UTC)
    try:
        provider = SignerProvider(settings.signing_key, settings.keys_dir,
                                  level=settings.signature_level, tsa=settings.tsa_url)
        certs = provider.key_certificates()
    except Exception as exc:  # noqa: BLE001
        if "expired" in str(exc):
            return Finding("signing keys", FAIL, _short(exc),
                           "install the renewed certificate from the CA and point "
                           "SOHOA_SIGNING_KEY at it")
        return Finding("signing keys", FAIL, f"cannot load: {_short(exc)}",
                       "correct SOHOA_SIGNING_KEY (and the PIN/passphrase variable it names)")
    soonest = None
    for label, cert in certs:
        expires = cert["tbs_certificate"]["validity"]["not_after"].native
        left = expires - now
        if left.total_seconds() <= 0:
            return Finding("signing keys", FAIL, f"{label}: certificate expired {expires:%Y-%m-%d}",
                           "install the renewed certificate from the CA and point "
                           "SOHOA_SIGNING_KEY at it")
        if left <= dt.timedelta(days=KEY_EXPIRY_DAYS):
            return Finding("signing keys", FAIL,
                           f"{label}: certificate expires {expires:%Y-%m-%d} "
                           f"(in {left.days} days)",
                           "renew it with the CA now; signing stops when it expires")
        soonest = expires if soonest is None or expires < soonest else soonest
    detail = f"{len(certs)} key(s), first expiry {soonest:%Y-%m-%d}" if soonest else "no keys"
    if provider.is_test_pki:
        return Finding("signing keys", WARN, f"TEST PKI ({detail}): copies are not legally valid",
                       "set SOHOA_SIGNING_KEY to the agency's PKCS#11 token or PKCS#12 file")
    return Finding("signing keys", OK, detail)


def check_access_log(settings, today=None) -> Finding | None:
    """PostgreSQL only: next month's access-log partition exists (else its rows land in the
    DEFAULT partition, which cannot be archived by month)."""
    if not settings.catalog_url.startswith("postgresql"):
        return None
    from api.access_log import maintain_needed

    try:
        missing = maintain_needed(settings.catalog_url, today=today)
    except Exception as exc:  # noqa: BLE001
        return Finding("access log", WARN, f"partitions not readable: {_short(exc)}",
                       "run `sohoa db upgrade`")
    if missing:
        return Finding("access log", FAIL, f"no partition for {', '.join(missing)}",
                       "run `sohoa access-log maintain` (monthly: docs/systemd, "
                       "sohoa-access-log.timer)")
    return Finding("access log", OK, "partitions exist for this month and the next")


def check_tesseract(settings) -> Finding:
    try:
        import pytesseract

        langs = set(pytesseract.get_languages(config=""))
    except Exception as exc:  # noqa: BLE001
        return Finding("tesseract", FAIL, f"not runnable: {_short(exc)}",
                       "apt-get install tesseract-ocr tesseract-ocr-vie (make setup)")
    wanted = [lang for lang in settings.ocr_lang.split("+") if lang]
    missing = [lang for lang in wanted if lang not in langs]
    if missing:
        return Finding("tesseract", FAIL, f"language model(s) missing: {', '.join(missing)}",
                       f"apt-get install {' '.join('tesseract-ocr-' + m for m in missing)}")
    return Finding("tesseract", OK, f"models {', '.join(wanted)} present")


def check_disk(settings, min_free: int = MIN_FREE_BYTES) -> list[Finding]:
    findings = []
    places = {"home": settings.resolved_home, "temp": Path(tempfile.gettempdir())}
    if settings.objects_url.startswith("file://"):
        places["objects"] = Path(settings.objects_url[len("file://"):])
    for name, path in places.items():
        probe = path
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        free = shutil.disk_usage(probe).free
        gib = free / 1024**3
        if free < min_free:
            findings.append(Finding(f"disk ({name})", FAIL, f"{path}: {gib:.1f} GiB free",
                                    f"free space or move it: at least {min_free / 1024**3:.1f} "
                                    "GiB is needed for scans in flight"))
        else:
            findings.append(Finding(f"disk ({name})", OK, f"{path}: {gib:.1f} GiB free"))
    return findings


def _redact(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password:
        return urlunparse(parsed._replace(netloc=parsed.netloc.replace(parsed.password, "***")))
    if parsed.username and parsed.scheme.startswith("s3"):  # s3://ACCESS:SECRET@ form
        return urlunparse(parsed._replace(netloc=parsed.hostname or ""))
    return url


def run_checks(min_free: int = MIN_FREE_BYTES) -> list[Finding]:
    """Every check, in order; the settings first (nothing else can run without them)."""
    socket.setdefaulttimeout(max(socket.getdefaulttimeout() or 0, CONNECT_TIMEOUT_S * 2))
    first, settings = check_settings()
    if settings is None:
        return [first]
    findings = [first, check_catalog(settings), check_objects(settings), check_broker(settings),
                check_signing_keys(settings), check_tesseract(settings)]
    if findings[1].status == OK and (access := check_access_log(settings)) is not None:
        findings.append(access)
    findings.extend(check_disk(settings, min_free))
    return findings


def exit_code(findings: list[Finding]) -> int:
    return 1 if any(f.status == FAIL for f in findings) else 0


