"""Tables of the retrieval API: API clients (hashed keys, scopes, unit) and the access log.

The access log is append-only: no code path updates or deletes it, and migration 0004_api adds
database triggers that refuse UPDATE and DELETE on it (SQLite and PostgreSQL).
(The (created_at, id) index on `results` that the API's stable sort walks is storage's.)
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.catalog import Base, utcnow

SCOPES = ("read:metadata", "read:documents", "read:pii", "ingest", "read:metrics", "admin")

BigId = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrement needs INTEGER


class ApiClient(Base):
    __tablename__ = "api_clients"
    __table_args__ = (Index("ix_api_clients_prefix", "key_prefix", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(16))  # public part of the key, for lookup
    key_sha256: Mapped[str] = mapped_column(String(64))  # hex sha256 of the whole key
    scopes: Mapped[str] = mapped_column(String(200))  # space separated
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("admin_units.id"))  # None: all units
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())


class ApiAccess(Base):
    """One row per API request: who, what, which document, why (X-Purpose), outcome."""

    __tablename__ = "api_access_log"
    __table_args__ = (
        Index("ix_api_access_at", "at"),
        Index("ix_api_access_client_at", "client_id", "at"),
        Index("ix_api_access_document_at", "document_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    client_id: Mapped[int | None] = mapped_column(Integer)  # no FK: the log outlives clients
    client_name: Mapped[str | None] = mapped_column(String(120))
    method: Mapped[str] = mapped_column(String(10))
    endpoint: Mapped[str] = mapped_column(String(200))  # route template, e.g. /v1/results/{id}
    path: Mapped[str] = mapped_column(String(500))
    document_id: Mapped[str | None] = mapped_column(String(32))  # result or document id
    purpose: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(20))  # ok, denied, not_found, invalid, error
    remote: Mapped[str | None] = mapped_column(String(64))
    duration_ms: Mapped[int | None] = mapped_column(Integer)
