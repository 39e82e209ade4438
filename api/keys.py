"""API clients: key generation, hashed storage, lookup, revocation, and each client's unit scope.

A key looks like `sohoa_<prefix>_<secret>`: the prefix (public) finds the row, the sha256 of the
whole key is compared in constant time. Keys carry 256 random bits, so a plain sha256 is enough
(no slow KDF needed); the key itself is shown once, at creation, and never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.orm import Session

from api.models import SCOPES, ApiClient
from api.revocations import notify_revoked
from storage.catalog import AdminUnit, utcnow
from storage.units import find_unit

KEY_PREFIX = "sohoa"


class ClientError(ValueError):
    """Bad input to a client-management command (unknown scope, unit, duplicate name …)."""


@dataclass(frozen=True)
class ClientInfo:
    """What a request knows about its caller (cached; no ORM objects)."""

    id: int
    name: str
    scopes: frozenset[str]
    unit_id: int | None = None
    unit_code: str | None = None
    unit_level: str | None = None
    province_code: str | None = None

    def has(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes

    # Scope follows the unit *code* across its versions: a result stays under the unit version
    # valid when it was issued (00004 was Phường Trúc Bạch until 2025-06-30), and the client
    # bound to today's 00004 sees the results of its code's earlier versions too.

    def unit_filter(self, unit=AdminUnit) -> ColumnElement[bool]:
        """SQL condition on an AdminUnit (alias) row: the units this client may see."""
        if self.unit_id is None:
            return true()
        if self.unit_level == "city":
            return unit.province_code == self.province_code
        same_code = select(AdminUnit.id).where(AdminUnit.code == self.unit_code)
        if self.unit_level == "district":
            return or_(unit.code == self.unit_code, unit.parent_id.in_(same_code))
        return unit.code == self.unit_code

    def sees(self, unit_id: int, parent_id: int | None, province_code: str,
             code: str | None = None, parent_code: str | None = None) -> bool:
        if self.unit_id is None:
            return True
        if self.unit_level == "city":
            return province_code == self.province_code
        if code is None:  # ids only: this exact version
            ids = (unit_id, parent_id) if self.unit_level == "district" else (unit_id,)
            return self.unit_id in ids
        if self.unit_level == "district":
            return self.unit_code in (code, parent_code)
        return code == self.unit_code


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> tuple[str, str]:
    """(prefix, full key)."""
    prefix = secrets.token_hex(6)
    return prefix, f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"


def parse_scopes(scopes: list[str] | tuple[str, ...]) -> list[str]:
    found: list[str] = []
    for item in scopes:
        for scope in item.replace(",", " ").split():
            if scope not in SCOPES:
                raise ClientError(f"unknown scope {scope!r}; known scopes: {', '.join(SCOPES)}")
            if scope not in found:
                found.append(scope)
    if not found:
        raise ClientError(f"give at least one --scope ({', '.join(SCOPES)})")
    return found


def create_client(session: Session, name: str, scopes: list[str], unit_code: str | None) -> str:
    """Create a client; returns the key (the only time it exists in clear)."""
    name = name.strip()
    if not name:
        raise ClientError("client name is empty")
    if session.scalar(select(ApiClient.id).where(ApiClient.name == name)) is not None:
        raise ClientError(f"an API client named {name!r} already exists")
    unit_id = None
    if unit_code:
        try:
            unit_id = find_unit(session, unit_code).id
        except LookupError as exc:
            raise ClientError(str(exc)) from None
    prefix, key = new_key()
    session.add(ApiClient(name=name, key_prefix=prefix, key_sha256=hash_key(key),
                          scopes=" ".join(parse_scopes(scopes)), unit_id=unit_id))
    session.flush()
    return key


def revoke_client(session: Session, name: str) -> bool:
    """Revoke by name; False when there is no such active client."""
    client = session.scalar(select(ApiClient).where(ApiClient.name == name))
    if client is None or client.revoked_at is not None:
        return False
    client.revoked_at = utcnow()

    notify_revoked(session, name)  # API processes drop their cached keys when this commits
    return True


def list_clients(session: Session) -> list[dict]:
    rows = session.execute(
        select(ApiClient, AdminUnit.code, AdminUnit.name)
        .outerjoin(AdminUnit, AdminUnit.id == ApiClient.unit_id).order_by(ApiClient.name)
    ).all()
    return [{"name": c.name, "key_prefix": f"{KEY_PREFIX}_{c.key_prefix}_…", "scopes": c.scopes,
             "unit": code, "unit_name": unit_name, "created_at": c.created_at,
             "revoked_at": c.revoked_at} for c, code, unit_name in rows]


def authenticate(session: Session, key: str) -> ClientInfo | None:
    """The active client holding `key`, or None."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) > 16:
        return None
    row = session.execute(
        select(ApiClient, AdminUnit.code, AdminUnit.level, AdminUnit.province_code)
        .outerjoin(AdminUnit, AdminUnit.id == ApiClient.unit_id)
        .where(ApiClient.key_prefix == parts[1])
    ).first()
    if row is None:
        hmac.compare_digest(hash_key(key), "0" * 64)  # same work whether or not the prefix exists
        return None
    client, code, level, province = row
    if not hmac.compare_digest(hash_key(key), client.key_sha256) or client.revoked_at is not None:
        return None
    return ClientInfo(id=client.id, name=client.name, scopes=client.scope_set,
                      unit_id=client.unit_id, unit_code=code, unit_level=level,
                      province_code=province)
