"""Fixtures for the API tests: a catalog with signed results in a few units, API clients of
every kind, and the app over it — once on SQLite with the local store and once on PostgreSQL
with the S3 store (SeaweedFS), so every endpoint runs against both."""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest

from tests.conftest import service_unavailable
from tests.signing.helpers import make_pdf
from tests.storage.conftest import seaweed  # noqa: F401 - the session SeaweedFS fixture

PG_ADMIN = os.environ.get("SOHOA_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
BIG = 3 * 1024 * 1024 + 123  # spans several 1 MiB read chunks


def _pg_database(name: str):
    import psycopg

    try:
        conn = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except Exception as exc:  # noqa: BLE001
        service_unavailable(f"PostgreSQL at {PG_ADMIN}: {exc}")
    with conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + name


def _drop_pg(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Catalog:
    kind: str
    rt: object
    app: object
    keys: dict[str, str] = field(default_factory=dict)
    results: dict[str, str] = field(default_factory=dict)  # label -> result id
    pdf: dict[str, bytes] = field(default_factory=dict)  # label -> stored bytes

    http: object = None  # the shared client, entered: the app's lifespan ran on its loop

    def client(self, **kwargs):
        """The shared client (its requests take the async read path on PostgreSQL); with
        options, a fresh client that never runs the lifespan (reads fall back to a thread)."""
        from fastapi.testclient import TestClient

        if not kwargs:
            return self.http
        return TestClient(self.app, **kwargs)

    def auth(self, who: str, **extra) -> dict:
        return {"Authorization": f"Bearer {self.keys[who]}", **extra}


CLIENTS = {  # name: (scopes, unit code)
    "district": (["read:metadata", "read:documents"], "001"),  # Quận Ba Đình (+ its wards)
    "district-pii": (["read:metadata", "read:documents", "read:pii"], "001"),
    "city": (["read:metadata"], "01"),  # Hà Nội
    "meta": (["read:metadata"], None),
    "station": (["ingest"], "01"),
    "admin": (["admin"], None),
}


def _populate(cat: Catalog) -> None:
    from api.keys import create_client
    from storage.catalog import Document, Result
    from storage.records import FilingDefaults, file_document
    from storage.units import find_unit

    rt = cat.rt
    on = date(2024, 5, 1)
    t0 = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)
    specs = [  # label, unit, number, type, issued, subject, id, ocr text
        ("truc-bach", "00004", "125/QĐ-UBND", "quyet_dinh", date(2021, 1, 5), "Nguyễn Văn Hùng",
         "001085012345", "QUYẾT ĐỊNH Về việc công nhận tổ hòa giải; ông Nguyễn Văn Hùng"),
        ("ba-dinh", "001", "77/GP-UBND", "giay_phep", date(2022, 3, 9), "Trần Thị Lan",
         "001190000777", "GIẤY PHÉP XÂY DỰNG cấp cho bà Trần Thị Lan"),
        ("hoan-kiem", "00037", "9/QĐ-UBND", "quyet_dinh", date(2023, 7, 1), "Lê Văn Nam",
         "001090000009", "QUYẾT ĐỊNH khen thưởng ông Lê Văn Nam"),
        ("hcm", "760", "5/GCN-UBND", "giay_chung_nhan", date(2023, 2, 2), "Phạm Minh Tú",
         "079080000005", "GIẤY CHỨNG NHẬN đăng ký hộ kinh doanh Phạm Minh Tú"),
    ] + [(f"page-{i}", "00004", f"{200 + i}/QĐ-UBND", "quyet_dinh", date(2021, 2, i + 1),
          f"Người Số {i}", f"0010850100{i:02d}", f"QUYẾT ĐỊNH số {200 + i}") for i in range(5)]
    with rt.session() as session:
        for n, (label, code, number, kind, issued, name, ident, text) in enumerate(specs):
            unit = find_unit(session, code, on)
            signed = rt.signers.for_unit(unit.code, unit.name).sign(
                make_pdf(f"KET QUA {label}"), reason="Bản sao điện tử từ bản chính",
                signer_name=unit.name)
            key = f"test/{uuid.uuid4().hex}/signed.pdf"
            rt.objects.put_bytes(key, signed, "application/pdf")
            result = Result(dossier_code=f"H01.{n:04d}", procedure_code="1.001193", unit=unit,
                            document_number=number, document_type=kind, issued_on=issued,
                            issuer=f"UBND {unit.name}", subject_name=name, subject_id=ident,
                            created_at=t0 + timedelta(minutes=n))
            doc = Document(state="stored", source_name=f"{label}.pdf",
                           source_sha256=hashlib.sha256(label.encode() + cat.kind.encode()).hexdigest(),
                           source_size=1, unit=unit, procedure_code="1.001193",
                           dossier_code=result.dossier_code, result=result, signed_key=key,
                           signed_sha256=hashlib.sha256(signed).hexdigest(), document_type=kind,
                           fields={"number": number, "subject_name": name, "subject_id": ident},
                           ocr_text=text, page_count=1, stored_at=t0 + timedelta(minutes=n))
            session.add(doc)
            session.flush()
            file_document(session, doc, result, FilingDefaults(type_name=kind))  # its record
            cat.results[label] = result.id
            cat.pdf[label] = signed
        # a large object (not a PDF) behind one result, to test ranges across read chunks
        big = os.urandom(BIG)
        key = f"test/{uuid.uuid4().hex}/big.pdf"
        rt.objects.put_bytes(key, big, "application/pdf")
        unit = find_unit(session, "00004", on)
        result = Result(dossier_code="H01.BIG", unit=unit, document_number="BIG/1",
                        created_at=t0 - timedelta(days=1))
        session.add(Document(state="stored", source_name="big", source_sha256=hashlib.sha256(
            b"big" + cat.kind.encode()).hexdigest(), source_size=BIG, unit=unit, result=result,
            signed_key=key, signed_sha256=hashlib.sha256(big).hexdigest(), page_count=1))
        session.flush()
        cat.results["big"], cat.pdf["big"] = result.id, big
        for name, (scopes, code) in CLIENTS.items():
            cat.keys[name] = create_client(session, name, scopes, code)
        cat.keys["revoked"] = create_client(session, "revoked", ["admin"], None)
    from api.keys import revoke_client

    with rt.session() as session:
        revoke_client(session, "revoked")


@pytest.fixture(scope="session", params=["sqlite-local", "postgres-s3"])
def catalog(request, tmp_path_factory):
    from api.app import create_app
    from sohoa.runtime import Runtime
    from sohoa.settings import Settings

    home = tmp_path_factory.mktemp(f"api-{request.param}")
    options = {"home": home}
    pg_name = None
    if request.param == "postgres-s3":
        server = request.getfixturevalue("seaweed")
        pg_name = f"sohoa_api_{uuid.uuid4().hex[:12]}"
        options["database_url"] = _pg_database(pg_name)
        options["storage_url"] = server.bucket_url(f"sohoa-api-{uuid.uuid4().hex[:12]}")
    rt = Runtime(Settings(**options))
    cat = Catalog(kind=request.param, rt=rt, app=None)
    _populate(cat)
    cat.app = create_app(runtime=rt, audit_batched=False, auth_cache_seconds=0)
    from fastapi.testclient import TestClient

    cat.http = TestClient(cat.app)
    cat.http.__enter__()
    try:
        yield cat
    finally:
        cat.http.__exit__(None, None, None)
        cat.app.state.dispatcher.close()
        cat.app.state.read.close()
        if pg_name:
            from storage import db

            db.get_engine(options["database_url"]).dispose()
            _drop_pg(pg_name)
