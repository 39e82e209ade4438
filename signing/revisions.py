"""What a signed PDF holds after its last signature that is not signature maintenance.

Owns :func:`changes_after_signing`. pyHanko's diff analysis accepts changes a legal copy must
not: an update rewriting the document information (Info dictionary: title, author …) or the
XMP metadata, an update adding objects nothing references, bytes after the final ``%%EOF``
(poppler's ``pdfsig`` calls all of these "Not total document signed"). Here, after the last
regular signature, every revision must be a document timestamp's own revision or a DSS update
(validation data for PAdES B-LT/B-LTA), the file must end where its last revision ends, and
the Info dictionary and XMP metadata may change only in what signing tools refresh on every
write (modification date, producer).

It reads revisions through pyHanko's historical resolvers and never raises: anything it cannot
read is reported as a modification it cannot rule out.
"""

from __future__ import annotations

import logging

from defusedxml import ElementTree as SafeET
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

log = logging.getLogger(__name__)

# Info entries pyHanko (and other signing tools) rewrite in every incremental update
MAINTENANCE_INFO_KEYS = frozenset({"/ModDate", "/Producer"})
# XMP properties (local names) rewritten the same way
MAINTENANCE_XMP = frozenset({"ModifyDate", "MetadataDate", "Producer"})
# catalog entries a DSS update may add or change besides /DSS itself
MAINTENANCE_ROOT_KEYS = frozenset({"/DSS", "/Extensions", "/Version", "/Metadata"})
_RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
_TAIL_READ = 64 * 1024  # a trailer and startxref are far smaller than this
_MAX_WALK = 200_000  # objects reachable from the DSS we look at before giving up


def changes_after_signing(reader: PdfFileReader, embedded: list) -> list[str]:
    """Problems (English, one line each) with what follows the last regular signature."""
    problems = []
    try:
        problems.extend(_trailing_bytes(reader))
    except Exception:  # noqa: BLE001 - unreadable end of file: cannot rule it out
        log.debug("reading the end of the file failed", exc_info=True)
        problems.append("the end of the file cannot be read: changes after signing cannot be "
                        "ruled out")
    regular = [e for e in embedded if e.sig_object_type != "/DocTimeStamp"]
    if not regular:
        return problems
    try:
        problems.extend(_revisions_after(reader, embedded, regular[-1].signed_revision))
    except Exception:  # noqa: BLE001
        log.debug("revision analysis failed", exc_info=True)
        problems.append("the revisions after the signature cannot be read: changes after "
                        "signing cannot be ruled out")
    return problems


def _trailing_bytes(reader: PdfFileReader) -> list[str]:
    xrefs = reader.xrefs
    meta = xrefs.get_xref_container_info(xrefs.total_revisions - 1)
    stream = reader.stream
    stream.seek(0, 2)
    size = stream.tell()
    end = max(meta.end_location, meta.start_location)
    stream.seek(end)
    tail = stream.read(min(size - end, _TAIL_READ))
    eof = tail.find(b"%%EOF")
    if eof < 0:
        return [f"{size - end} bytes after the last cross-reference section have no %%EOF: "
                "the file was changed after signing"]
    extra = size - (end + eof + len(b"%%EOF"))
    rest = tail[eof + len(b"%%EOF"):]
    # one end-of-line may follow the last %%EOF; any other byte (even whitespace or NUL)
    # is outside every revision, as pdfsig counts it
    if extra > len(rest) or rest not in (b"", b"\n", b"\r\n", b"\r"):
        return [f"{extra} bytes were appended after the end of the signed file"]
    return []


def _revisions_after(reader: PdfFileReader, embedded: list, base: int) -> list[str]:
    xrefs = reader.xrefs
    total = xrefs.total_revisions
    if base >= total - 1:
        return []
    timestamp_revisions = {e.signed_revision for e in embedded
                           if e.sig_object_type == "/DocTimeStamp"}
    base_view = reader.get_historical_resolver(base)
    base_info, base_xmp = _info(base_view), _xmp(base_view)
    problems, info_changed, xmp_changed = [], False, False
    previous = base_view
    for rev in range(base + 1, total):
        view = reader.get_historical_resolver(rev)
        if rev not in timestamp_revisions:
            other = _non_maintenance(reader, view, previous, rev)
            if other:
                problems.append(
                    f"revision {rev + 1} (after the signature) is not signature maintenance: "
                    f"it changes {other}"
                )
        info_changed = info_changed or _info(view) != base_info
        xmp_changed = xmp_changed or _xmp(view) != base_xmp
        previous = view
    if info_changed:
        problems.append("the document information (Info: title, author, subject …) was "
                        "changed after signing")
    if xmp_changed:
        problems.append("the XMP metadata was changed after signing")
    return problems


def _trailer_entry(view, name: str):
    """A trailer entry as it was in the revision ``view`` shows (not as it is now)."""
    value = view.trailer_view.raw_get(name)
    if isinstance(value, generic.IndirectObject):
        return view.get_object(value.reference)
    return value


def _key(ref) -> tuple[int, int]:
    return (ref.idnum, ref.generation)


def _non_maintenance(reader: PdfFileReader, view, previous, rev: int) -> str | None:
    """What revision ``rev`` changes beyond a DSS update, described; None if nothing."""
    xrefs = reader.xrefs
    if xrefs.refs_freed_in_revision(rev):
        return "objects it frees"
    trailer = view.trailer_view
    allowed = {_key(trailer.raw_get("/Root"))}
    if "/Info" in trailer:
        info = trailer.raw_get("/Info")
        if isinstance(info, generic.IndirectObject):
            allowed.add(_key(info))  # its content is judged by the Info comparison
    root = _trailer_entry(view, "/Root")
    prev_root = _trailer_entry(previous, "/Root")
    changed_keys = sorted(
        k for k in set(root.keys()) | set(prev_root.keys())
        if k not in MAINTENANCE_ROOT_KEYS and _norm(root.raw_get(k) if k in root else None)
        != _norm(prev_root.raw_get(k) if k in prev_root else None)
    )
    if changed_keys:
        return "the document catalog (" + ", ".join(changed_keys) + ")"
    meta = root.raw_get("/Metadata") if "/Metadata" in root else None
    if isinstance(meta, generic.IndirectObject):
        allowed.add(_key(meta))  # judged by the XMP comparison
    if "/DSS" in root:
        allowed |= _reachable(root.raw_get("/DSS"))
    allowed |= {_key(r) for r in xrefs.object_streams_used_in(rev)}
    stream_ref = xrefs.get_xref_container_info(rev).stream_ref
    if stream_ref is not None:
        allowed.add(_key(stream_ref))
    other = sorted(_key(r) for r in xrefs.explicit_refs_in_revision(rev)
                   if _key(r) not in allowed)
    if other:
        shown = ", ".join(f"{n} {g} R" for n, g in other[:5])
        return f"{len(other)} object(s) outside the DSS ({shown}{' …' if len(other) > 5 else ''})"
    return None


def _reachable(start) -> set[tuple[int, int]]:
    """References reachable from ``start`` (an object of a historical revision)."""
    seen: set[tuple[int, int]] = set()
    todo = [start]
    while todo and len(seen) < _MAX_WALK:
        obj = todo.pop()
        if isinstance(obj, generic.IndirectObject):
            key = _key(obj)
            if key in seen:
                continue
            seen.add(key)
            obj = obj.get_object()
        if isinstance(obj, generic.StreamObject | generic.DictionaryObject):
            todo.extend(obj.raw_get(k) for k in obj)
        elif isinstance(obj, generic.ArrayObject):
            todo.extend(obj.raw_get(i) for i in range(len(obj)))
    return seen


def _norm(obj, depth: int = 0):
    """A comparable value of a PDF object, references kept as references."""
    if depth > 32:
        return ("deep",)
    if isinstance(obj, generic.IndirectObject):
        return ("ref",) + _key(obj)
    if isinstance(obj, generic.StreamObject):
        return ("stream", _norm_dict(obj, depth), bytes(obj.encoded_data or b""))
    if isinstance(obj, generic.DictionaryObject):
        return ("dict", _norm_dict(obj, depth))
    if isinstance(obj, generic.ArrayObject):
        return ("array",) + tuple(_norm(obj.raw_get(i), depth + 1) for i in range(len(obj)))
    if isinstance(obj, str | bytes):
        return ("str", obj if isinstance(obj, bytes) else obj.encode("utf-8", "surrogatepass"))
    return ("value", repr(obj))


def _norm_dict(obj, depth: int) -> tuple:
    return tuple(sorted((str(k), _norm(obj.raw_get(k), depth + 1)) for k in obj))


def _info(view) -> tuple | None:
    """The Info dictionary's entries without the maintenance ones (values dereferenced)."""
    trailer = view.trailer_view
    if "/Info" not in trailer:
        return None
    info = _trailer_entry(view, "/Info")
    if not isinstance(info, generic.DictionaryObject):
        return ("not a dictionary",)
    return tuple(sorted(
        (str(k), _norm(info[k])) for k in info if k not in MAINTENANCE_INFO_KEYS
    ))


def _xmp(view) -> tuple | None:
    """The XMP packet's properties as (property, value) pairs, maintenance ones left out."""
    root = _trailer_entry(view, "/Root")
    if "/Metadata" not in root:
        return None
    stream = root["/Metadata"]
    if not isinstance(stream, generic.StreamObject):
        return ("not a stream",)
    data = stream.data
    try:
        tree = SafeET.fromstring(data)
    except Exception:  # noqa: BLE001 - unparsable XMP: compare its bytes
        return ("raw", bytes(data))
    pairs = []
    for desc in tree.iter(f"{_RDF}Description"):
        for name, value in desc.attrib.items():
            if not name.startswith(_RDF) and _local(name) not in MAINTENANCE_XMP:
                pairs.append((name, value.strip()))
        for prop in desc:
            if _local(prop.tag) in MAINTENANCE_XMP:
                continue
            values = [(el.text or "").strip() for el in prop.iter()]
            values += [f"{k}={v}" for el in prop.iter() for k, v in el.attrib.items()]
            pairs.append((prop.tag, tuple(sorted(v for v in values if v))))
    return tuple(sorted(pairs, key=repr))


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]
