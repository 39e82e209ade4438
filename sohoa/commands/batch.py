"""`sohoa batch …`: separator sheets, stack scanning and splitting, review of the split,
commit, bulk import of folders, and the status and report of every batch."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import typer

from batch.commit import commit_spool, committing_as_settled, read_lang_for, refresh_queued
from batch.importer import ImportError_, import_folder, other_files, scan_files
from batch.journal import Journal
from batch.legacy import LegacyJournalError, adopt_home_journal
from batch.patchcode import PatchCodeError
from batch.patchcode import write_sheet as write_patch
from batch.separator import write_sheet
from batch.split import METHODS, SplitError, move_boundary
from batch.spool import Spool, batches_root
from pipeline.broker import BrokerConfigError
from scanners.base import ScannerError
from scanners.profiles import ProfileError, ScanProfile
from scanners.registry import open_scanner
from sohoa.runtime import get_runtime
from sohoa.settings import get_settings

batch_app = typer.Typer(help="Back-office batches: scan a stack, split it, import folders.",
                        no_args_is_help=True)


def _jsonl(record) -> None:
    sys.stdout.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")


def _fail(message: str, code: int = 2):
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _root() -> Path:
    """Where this PC's spools are (`$SOHOA_HOME/batches`)."""
    return batches_root(get_settings().resolved_home)


def _journal() -> Journal:
    """The journal in the catalog; a home's former journal file is taken in first (once)."""
    journal = Journal(get_runtime())
    try:
        adopted = adopt_home_journal(journal, _root())
    except LegacyJournalError as exc:
        _fail(str(exc))
    if adopted:
        typer.echo(f"former batch journal taken into the catalog: {adopted['batches']} "
                   f"batch(es), {adopted['items']} item(s)"
                   + (f", {adopted['unlinked']} whose document this catalog does not have"
                      if adopted["unlinked"] else "")
                   + f"; the file is kept as {adopted['renamed_to']}", err=True)
    return journal


def _runtime_and_broker():
    rt = get_runtime()
    try:
        return rt, rt.broker
    except BrokerConfigError as exc:
        _fail(str(exc))


def _progress(total: int, label: str):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(stderr=True)
    bar = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   TextColumn("{task.fields[last]}"), console=console,
                   disable=not console.is_terminal)
    return bar, bar.add_task(label, total=total, last="")


@batch_app.command("separator")
def separator_cmd(out: Path = typer.Option(Path("to-phan-cach.pdf"), "--out", "-o"),
                  dossier: str | None = typer.Option(None, "--dossier",
                                                     help="Dossier code carried by the QR code."),
                  patch: str | None = typer.Option(None, "--patch",
                                                   help="A Kodak patch-code sheet instead: T, "
                                                        "II (2), III (3), 1, 4 or 6."),
                  copies: int = typer.Option(1, "--copies", min=1, max=500)) -> None:
    """Write a separator sheet PDF (QR code, or a patch code) to print and put in front of
    each document."""
    if patch is not None:
        if dossier:
            raise typer.BadParameter("--dossier needs the QR sheet (a patch code carries no "
                                     "text): drop --patch")
        try:
            write_patch(out, patch, copies)
        except PatchCodeError as exc:
            raise typer.BadParameter(str(exc)) from None
    else:
        write_sheet(out, dossier, copies)
    typer.echo(str(out))


def _print_split(spool, split, as_json: bool) -> None:
    if as_json:
        _jsonl({"batch": spool.id, **split.to_dict()})
        return
    typer.echo(f"batch {spool.id}: {len(split.documents)} document(s), "
               f"{len(split.dropped)} page(s) dropped (blank backs, blank sheets, separators)")
    for n, doc in enumerate(split.documents, start=1):
        pages = ",".join(str(p + 1) for p in doc.pages)
        extra = f"  dossier {doc.dossier}" if doc.dossier else ""
        typer.echo(f"  doc {n:>3}: pages {pages}  ({doc.reason}){extra}")


@batch_app.command("scan")
def scan_cmd(
    scanner: str = typer.Option(..., "--scanner", help="sane:<dev> or escl:<url>"),
    duplex: bool = typer.Option(False, "--duplex", help="Scan both sides (duplex feeder)."),
    split: str = typer.Option("auto", "--split", help="auto, separator, blank or first"),
    dpi: int = typer.Option(300, "--dpi"),
    mode: str = typer.Option("color", "--mode", help="color, gray or lineart"),
    append: str | None = typer.Option(None, "--append", help="Add another feeder load to BATCH."),
    backs: str | None = typer.Option(None, "--backs",
                                     help="This pass is the backs of BATCH (stack turned over)."),
    unit: str | None = typer.Option(None, "--unit", help="With --commit: issuing unit code."),
    procedure: str | None = typer.Option(None, "--procedure"),
    commit: bool = typer.Option(False, "--commit", help="Submit the split documents at once."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Scan a stack through the feeder into a batch, split it, and show the split."""
    import tempfile

    if split not in METHODS:
        raise typer.BadParameter(f"--split must be one of {', '.join(METHODS)}")
    if commit and not unit:
        _fail("--unit is needed to commit a batch")
    try:
        profile = ScanProfile(name="batch", dpi=dpi, mode=mode,
                              source="duplex" if duplex else "adf")
    except ProfileError as exc:
        raise typer.BadParameter(str(exc)) from None
    root = _root()
    try:
        spool = (Spool.open(root, append or backs) if (append or backs) else
                 Spool.create(root, {"scanner": scanner, "split": split, "duplex": duplex,
                                     "dpi": dpi, "mode": mode}))
    except FileNotFoundError as exc:
        _fail(str(exc))
    settings = get_runtime().settings
    # documents recognized here (no broker): read each page once, while examining it
    examine = {"workers": max(1, settings.ocr_workers),
               "first_pages": split in ("auto", "first"), "read_lang": read_lang_for(settings)}
    kept = 0
    # the pages are examined as they come, beside the feeder (a backs pass is collated first);
    # with --commit, each document is committed as soon as its boundary is settled
    examining = contextlib.nullcontext() if backs else spool.examining(**examine)
    following = contextlib.nullcontext()
    if commit and not backs:
        journal = _journal()
        rt, broker = _runtime_and_broker()
        following = committing_as_settled(rt, broker, journal, spool, method=split, unit=unit,
                                          procedure=procedure, workers=rt.settings.ocr_workers,
                                          on_item=_item_printer(as_json))
    try:
        with following, examining, open_scanner(scanner) as device:
            if backs:
                with tempfile.TemporaryDirectory(prefix="sohoa-backs-") as tmp:
                    files = []

                    def keep(page):
                        path = Path(tmp) / f"{len(files):05d}.png"
                        page.image.save(path, "PNG", compress_level=1)
                        files.append(path)

                    device.scan(profile, on_page=keep)
                    spool.collate_backs(files, dpi)
            else:
                kept = len(device.scan(profile, on_page=spool.on_page))
    except ScannerError as exc:
        new_and_empty = not (append or backs) and not spool.pages()
        where = "no batch created" if new_and_empty else f"{len(exc.pages)} page(s) kept in " \
            f"batch {spool.id}"
        typer.echo(f"{exc.vi} ({exc}; {where})", err=True)
        if new_and_empty:
            import shutil

            shutil.rmtree(spool.folder, ignore_errors=True)
        if not exc.pages:
            raise typer.Exit(2) from None
    except ValueError as exc:
        _fail(f"batch {spool.id}: {exc}")
    typer.echo(f"batch {spool.id}: {kept or len(spool.pages())} page(s) spooled", err=True)

    spool.examine(**examine)  # what was not examined while scanning (a second pass's backs)
    result = spool.split(split)
    _print_split(spool, result, as_json)
    if commit:
        _commit(spool, _journal(), unit, procedure, as_json)


@batch_app.command("split")
def split_cmd(
    batch_id: str = typer.Argument(...),
    method: str | None = typer.Option(None, "--method", help="Split again: auto, separator, "
                                      "blank or first (forgets manual changes)."),
    start: list[int] = typer.Option([], "--start", help="Page N starts a document."),
    join: list[int] = typer.Option([], "--join", help="Page N joins the document before it."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Show a batch's split; move a boundary with --start/--join (page numbers from 1)."""
    root = _root()
    try:
        spool = Spool.open(root, batch_id)
    except FileNotFoundError as exc:
        _fail(str(exc))
    if (method or start or join) and _journal_has(batch_id):
        _fail(f"batch {batch_id} is already committed: its split can no longer change")
    result = spool.split(method)
    try:
        for page in start:
            result = move_boundary(result, page - 1, start=True)
        for page in join:
            result = move_boundary(result, page - 1, start=False)
    except SplitError as exc:
        _fail(f"batch {batch_id}: {exc}")
    if start or join:
        spool.save_split(result)
    _print_split(spool, result, as_json)


def _journal_has(batch_id: str) -> bool:
    return _journal().batch(batch_id) is not None


def _refresh(journal, batch_ids) -> None:
    """Outcomes of items handed to workers, read back from the catalog."""
    rt = None
    for batch_id in batch_ids:
        if journal.counts(batch_id)["queued"]:
            rt = rt or get_runtime()
            refresh_queued(rt, journal, batch_id)


def _commit(spool, journal, unit, procedure, as_json) -> None:
    if not unit:
        _fail("--unit is needed to commit a batch")
    rt, broker = _runtime_and_broker()
    commit_spool(rt, broker, journal, spool, unit=unit, procedure=procedure,
                 workers=rt.settings.ocr_workers, on_item=_item_printer(as_json))
    _summary(journal, spool.id)


def _item_printer(as_json: bool):
    """A committed document's outcome, one line each (JSON lines with --json)."""
    return (lambda name, r: _jsonl({"item": name, **r})) if as_json else \
        (lambda name, r: typer.echo(f"{r['status']:<13} {name}"
                                    + (f"  ({r['reason']})" if r.get("reason") else "")))


@batch_app.command("commit")
def commit_cmd(batch_id: str = typer.Argument(...),
               unit: str = typer.Option(..., "--unit"),
               procedure: str | None = typer.Option(None, "--procedure"),
               as_json: bool = typer.Option(False, "--json")) -> None:
    """Submit the documents of a reviewed split to the pipeline (resumes where it stopped)."""
    try:
        spool = Spool.open(_root(), batch_id)
    except FileNotFoundError as exc:
        _fail(str(exc))
    _commit(spool, _journal(), unit, procedure, as_json)


def _summary(journal, batch_id: str) -> None:
    counts = journal.counts(batch_id)
    typer.echo(f"batch {batch_id}: " + ", ".join(f"{k} {v}" for k, v in counts.items()),
               err=True)


@batch_app.command("import")
def import_cmd(
    folder: Path = typer.Argument(..., help="Folder of PDF/TIFF/PNG/JPEG scans (recursive)."),
    unit: str | None = typer.Option(None, "--unit", help="Issuing unit (or per file in CSV)."),
    procedure: str | None = typer.Option(None, "--procedure"),
    manifest: Path | None = typer.Option(None, "--manifest",
                                         help="CSV: file, dossier, unit, procedure, issued_on"
                                         "[, paper_code, sheets, condition]."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Import a folder of earlier scans; rerun to resume. Nothing is stored twice."""
    journal = _journal()
    try:
        total = len(scan_files(folder))
    except ImportError_ as exc:
        _fail(str(exc))
    skipped = other_files(folder)
    if skipped:
        typer.echo(f"{folder}: {len(skipped)} file(s) left alone, not PDF/TIFF/PNG/JPEG: "
                   + ", ".join(skipped[:5]) + (" …" if len(skipped) > 5 else ""), err=True)
    rt, broker = _runtime_and_broker()
    bar, task = _progress(total, "import")

    def item(name: str, result: dict) -> None:
        bar.advance(task)
        bar.update(task, last=f"{result['status']}: {name}")
        if as_json:
            _jsonl({"file": name, **result})

    try:
        with bar:
            batch_id = import_folder(rt, broker, journal, folder, unit=unit, procedure=procedure,
                                     manifest=manifest, workers=rt.settings.ocr_workers,
                                     on_item=item)
    except ImportError_ as exc:
        _fail(str(exc))
    if not as_json:
        typer.echo(batch_id)
    _summary(journal, batch_id)


@batch_app.command("status")
def status_cmd(as_json: bool = typer.Option(False, "--json")) -> None:
    """Every batch with its counts: stored, held for review, refused, still pending."""
    journal = _journal()
    _refresh(journal, [b["id"] for b in journal.batches()])
    for b in journal.batches():
        if as_json:
            _jsonl(b)
            continue
        c = b["counts"]
        state = "done" if b["finished"] else "open"
        typer.echo(f"{b['id']}  {b['kind']:<6} {state:<4} stored {c['stored']}  review "
                   f"{c['needs_review']}  refused {c['refused']}  pending "
                   f"{c['pending'] + c['queued']}  {b['source']}"
                   + (f"  (on {b['host']})" if b.get("host") else ""))


@batch_app.command("report")
def report_cmd(batch_id: str = typer.Argument(...),
               as_json: bool = typer.Option(False, "--json")) -> None:
    """One line per item of a batch: outcome, document id, and the reason of a refusal."""
    journal = _journal()
    batch = journal.batch(batch_id)
    if batch is None:
        _fail(f"no batch {batch_id}")
    _refresh(journal, [batch_id])
    batch = journal.batch(batch_id)
    items = journal.items(batch_id)
    if as_json:
        _jsonl({**batch, "items": items})
        return
    typer.echo(f"batch {batch_id} ({batch['kind']}, {batch['source']}"
               + (f", on {batch['host']})" if batch.get("host") else ")"))
    for i in items:
        line = f"{i['status']:<13} {i['name']}"
        if i["document_id"]:
            line += f"  id={i['document_id']}"
        if i["reason"]:
            line += f"  reason: {i['reason']}"
        typer.echo(line)
    _summary(journal, batch_id)


def register(app: typer.Typer) -> None:
    app.add_typer(batch_app, name="batch")
