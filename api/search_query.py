"""The SQL of `GET /v1/results`: one statement per combination of filters (its *shape*), built
once and reused with the request's values as parameters.

Building a SQLAlchemy statement and its cache key on every request cost about as much CPU as
the lookup itself; a statement per shape is also compiled once for the driver
(`AsyncReads.rows`). Unit conditions are id lists: `= ANY(array)` on PostgreSQL (one
parameter, whatever the list's length), an expanding `IN` elsewhere.

`search_parameters` turns the request's filters into the shape's parameters; `search_statement`
gives the statement of a shape. Rows come newest first (created_at, id), `limit` of them.
"""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Date, Integer, any_, bindparam, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY

from storage.catalog import AdminUnit, Result

SUMMARY_COLUMNS = (
    Result.id, Result.dossier_code, Result.procedure_code, Result.document_number,
    Result.document_type, Result.issued_on, Result.in_force, Result.valid_until, Result.issuer,
    Result.subject_name, Result.subject_id, Result.created_at,
    AdminUnit.code.label("unit_code"), AdminUnit.name.label("unit_name"),
    AdminUnit.level.label("unit_level"),
)

# parameter name -> the column it must equal
EQUALS = {"dossier": Result.dossier_code, "number": Result.document_number,
          "subject_id": Result.subject_id, "level": AdminUnit.level,
          "procedure": Result.procedure_code, "type": Result.document_type}
UNIT_LISTS = ("client_units", "units")  # ids of the units the client sees / asked for


def search_parameters(**values) -> dict:
    """The parameters present (not None) among the filters, plus `limit` (always present)."""
    return {name: value for name, value in values.items() if value is not None}


@lru_cache(maxsize=512)
def search_statement(shape: frozenset[str], dialect: str):
    """The statement for requests giving exactly the parameters named in `shape`."""
    query = select(*SUMMARY_COLUMNS).join(AdminUnit, AdminUnit.id == Result.unit_id)
    for name, column in EQUALS.items():
        if name in shape:
            query = query.where(column == bindparam(name, type_=column.type))
    if "issued_from" in shape:
        query = query.where(Result.issued_on >= bindparam("issued_from", type_=Date))
    if "issued_to" in shape:
        query = query.where(Result.issued_on <= bindparam("issued_to", type_=Date))
    if "cursor_at" in shape:
        # typed, so SQLite compares its stored text form of the timestamp
        query = query.where(tuple_(Result.created_at, Result.id) < tuple_(
            bindparam("cursor_at", type_=Result.created_at.type),
            bindparam("cursor_id", type_=Result.id.type)))
    # Unit conditions are explicit id lists: the planner then uses the (unit_id, issued_on) and
    # issued_on indexes instead of walking the sort index (540 ms -> 8 ms at 1M results).
    for name in UNIT_LISTS:
        if name in shape:
            if dialect == "postgresql":
                query = query.where(Result.unit_id == any_(
                    bindparam(name, type_=ARRAY(Integer))))
            else:
                query = query.where(Result.unit_id.in_(bindparam(name, expanding=True)))
    return query.order_by(Result.created_at.desc(), Result.id.desc()).limit(
        bindparam("limit", type_=Integer))
