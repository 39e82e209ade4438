"""`sohoa doctor` names every fault injected here, against real services (PostgreSQL, Redis,
RabbitMQ) and real closed ports, and passes a healthy embedded installation."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from sohoa import doctor
from sohoa.settings import Settings
from tests.conftest import service_unavailable

SOHOA = str(Path(sys.executable).with_name("sohoa"))
PG_ADMIN = os.environ.get("SOHOA_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def _settings(home, **values) -> Settings:
    return Settings(home=home, **values)


def _sohoa(*args, env):
    return subprocess.run([SOHOA, *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_healthy_embedded_installation_passes(sohoa_home):
    env = {**os.environ, "SOHOA_HOME": str(sohoa_home)}
    done = _sohoa("doctor", "--json", "--min-free-gb", "0.01", env=env)
    findings = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 0, done.stdout + done.stderr
    by_check = {f["check"]: f for f in findings}
    assert {"settings", "catalog", "objects", "broker", "signing keys", "tesseract",
            "disk (home)"} <= set(by_check)
    assert by_check["objects"]["status"] == "ok"
    # the TEST PKI is a warning, never silent
    assert by_check["signing keys"]["status"] == "warn"
    assert "TEST" in by_check["signing keys"]["detail"]


def test_faults_are_named_with_a_fix_and_exit_1(sohoa_home):
    port = _closed_port()
    env = {**os.environ, "SOHOA_HOME": str(sohoa_home),
           "SOHOA_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:{port}/none",
           "SOHOA_STORAGE_URL": f"s3+http://AK:SK@127.0.0.1:{port}/bucket",
           "SOHOA_BROKER_URL": f"redis://127.0.0.1:{port}/0",
           "SOHOA_OCR_LANG": "vie+zzz"}
    done = _sohoa("doctor", "--json", "--min-free-gb", "1000000", env=env)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    findings = {f["check"]: f for f in map(json.loads, done.stdout.splitlines())}
    for check in ("catalog", "objects", "broker", "tesseract", "disk (home)"):
        assert findings[check]["status"] == "fail", findings[check]
        assert findings[check]["fix"], findings[check]
    assert "SOHOA_DATABASE_URL" in findings["catalog"]["fix"]
    assert "zzz" in findings["tesseract"]["detail"]
    assert "SK" not in findings["objects"]["detail"]  # the secret key is never printed


def test_bad_setting_is_named(sohoa_home, monkeypatch):
    env = {**os.environ, "SOHOA_HOME": str(sohoa_home), "SOHOA_OCR_WORKERS": "many"}
    done = _sohoa("doctor", "--json", env=env)
    assert done.returncode != 0  # every command refuses bad settings before it starts
    assert "SOHOA_OCR_WORKERS" in done.stderr + done.stdout and "Traceback" not in done.stderr
    monkeypatch.setenv("SOHOA_OCR_WORKERS", "many")
    finding, _settings_obj = doctor.check_settings()
    assert finding.status == "fail" and "SOHOA_OCR_WORKERS" in finding.detail


@pytest.fixture
def empty_pg_database():
    psycopg = pytest.importorskip("psycopg")
    name = f"sohoa_doctor_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        service_unavailable(f"PostgreSQL: {exc}")
    yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    from storage import db

    for cached in (db.get_engine, db.get_sessionmaker):
        cached.cache_clear()
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_server_catalog_behind_the_migrations(sohoa_home, empty_pg_database):
    finding = doctor.check_catalog(_settings(sohoa_home, database_url=empty_pg_database))
    assert finding.status == "fail"
    assert "sohoa db upgrade" in finding.fix
    from storage import db

    db.upgrade(empty_pg_database)
    settings = _settings(sohoa_home, database_url=empty_pg_database)
    assert doctor.check_catalog(settings).status == "ok"
    # the access log has partitions for this month and the next, not for 2031
    assert doctor.check_access_log(settings).status == "ok"
    late = doctor.check_access_log(settings, today=dt.date(2031, 5, 2))
    assert late.status == "fail" and "2031-05" in late.detail
    assert "sohoa access-log maintain" in late.fix


def test_redis_without_persistence_is_a_warning(sohoa_home):
    import redis

    try:
        redis.Redis(socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        service_unavailable(f"Redis: {exc}")
    finding = doctor.check_broker(_settings(sohoa_home, broker_url="redis://127.0.0.1:6379/0"))
    appendonly = redis.Redis().config_get("appendonly")["appendonly"]
    assert finding.status == ("ok" if appendonly == "yes" else "warn")
    if finding.status == "warn":
        assert "appendonly yes" in finding.fix


def test_rabbitmq_reachable_and_not(sohoa_home):
    good = doctor.check_broker(_settings(
        sohoa_home, broker_url="amqp://guest:guest@127.0.0.1:5672/%2F"))
    if good.status != "ok":
        service_unavailable(f"RabbitMQ: {good.detail}")
    bad = doctor.check_broker(_settings(
        sohoa_home, broker_url=f"amqp://guest:guest@127.0.0.1:{_closed_port()}/%2F"))
    assert bad.status == "fail" and "guest:guest" not in bad.detail


@pytest.mark.parametrize("days, status", [(10, "fail"), (-1, "fail"), (400, "ok")])
def test_signing_key_expiry(sohoa_home, monkeypatch, days, status):
    from signing.dev_pki import ensure_dev_pki

    pki = ensure_dev_pki(sohoa_home / "pki")
    now = dt.datetime.now(dt.UTC)
    p12 = sohoa_home / "unit.p12"
    pki.issue_unit_pkcs12("00004", "Phường Ba Đình", out=p12,
                          not_before=now - dt.timedelta(days=30),
                          not_after=now + dt.timedelta(days=days))
    monkeypatch.setenv("DOCTOR_P12_PASS", (p12.parent / "unit.p12.pass").read_text().strip())
    spec = f"pkcs12:{p12}?pass_env=DOCTOR_P12_PASS"
    finding = doctor.check_signing_keys(_settings(sohoa_home, signing_key=spec))
    assert finding.status == status, finding
    if status == "fail":
        assert ("expire" in finding.detail) and "DOCTOR_P12_PASS" not in finding.detail
        assert "renew" in finding.fix or "renewed" in finding.fix
