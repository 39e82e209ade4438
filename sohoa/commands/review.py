"""`sohoa review list|show|approve|correct` and `sohoa model train`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from pipeline.doctype_model import TrainingError, train
from pipeline.review import ReviewError, continue_processing, decide, field_crop_png, pending, review_record
from sohoa.commands.pipeline import runtime
from storage.catalog import Document

review_app = typer.Typer(help="Documents waiting for a person (needs_review).",
                         no_args_is_help=True)
model_app = typer.Typer(help="The trainable document-type classifier.", no_args_is_help=True)


def _rt():
    return runtime()


def _print(record: dict) -> None:
    sys.stdout.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")


@review_app.command("list")
def review_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """Documents waiting for review, oldest first."""
    rows = pending(_rt())
    for row in rows:
        if as_json:
            _print(row)
        else:
            low = ", ".join(row["low_confidence"]) or "—"
            typer.echo(f"{row['document_id']}  {row['file']}  {row['document_type']} "
                       f"(confidence {row['confidence']:.2f}; check: {low})")
    if not rows and not as_json:
        typer.echo("nothing to review", err=True)


@review_app.command("show")
def review_show(
    document_id: str,
    as_json: bool = typer.Option(False, "--json"),
    crops_dir: Path | None = typer.Option(
        None, "--crops", help="Where to write the image crops of the fields to check "
        "(default: SOHOA_HOME/review-crops/ID)."),
) -> None:
    """What was recognized, with each field's confidence and the OCR text; the image crop of
    each field to check (number, date) is written as a PNG and its path printed."""
    rt = _rt()
    with rt.session() as session:
        doc = session.get(Document, document_id)
        if doc is None:
            typer.echo(f"no document {document_id}", err=True)
            raise typer.Exit(2)
        record = review_record(doc, rt.settings.review_threshold)
        record["ocr_text"] = doc.ocr_text
        folder = crops_dir or rt.settings.resolved_home / "review-crops" / document_id
        record["crop_files"] = {}
        for name in record["crops"]:
            if name not in record["low_confidence"]:
                continue
            png = field_crop_png(rt, doc, name)
            if png:
                folder.mkdir(parents=True, exist_ok=True)
                path = folder / f"{name}.png"
                path.write_bytes(png)
                record["crop_files"][name] = str(path)
    if as_json:
        _print(record)
        return
    typer.echo(f"{record['file']}  [{record['state']}]  type {record['document_type']} "
               f"({record['type_confidence'] or 0:.2f})")
    for name, value in record["fields"].items():
        conf = record["field_confidence"].get(name)
        mark = "  <-- check" if name in record["low_confidence"] else ""
        typer.echo(f"  {name:>13}: {value}  ({conf if conf is not None else '—'}){mark}")
        if name in record["crop_files"]:
            typer.echo(f"  {'':>13}  image of it: {record['crop_files'][name]}")
    typer.echo("\n" + (record["ocr_text"] or "")[:3000])


def _finish(rt, document_id: str, action: str) -> None:
    state = continue_processing(rt, document_id)
    typer.echo(f"{document_id}: {action}d, now {state}")
    if state == "failed":
        raise typer.Exit(1)


@review_app.command("approve")
def review_approve(document_id: str,
                   reviewer: str = typer.Option("cli", "--reviewer", help="Who confirms.")) -> None:
    """Confirm what was recognized; the document is then signed and stored."""
    rt = _rt()
    try:
        action = decide(rt, document_id, reviewer=reviewer)
    except ReviewError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    _finish(rt, document_id, action)


@review_app.command("correct")
def review_correct(
    document_id: str,
    document_type: str | None = typer.Option(None, "--type", help="The right document type."),
    field: list[str] = typer.Option([], "--field", help="NAME=VALUE, repeatable."),
    reviewer: str = typer.Option("cli", "--reviewer"),
) -> None:
    """Correct the type and/or fields; the corrections become training data."""
    fields = {}
    for item in field:
        name, sep, value = item.partition("=")
        if not sep:
            typer.echo(f"--field {item!r}: expected NAME=VALUE", err=True)
            raise typer.Exit(2)
        fields[name.strip()] = value.strip()
    rt = _rt()
    try:
        action = decide(rt, document_id, reviewer=reviewer, document_type=document_type,
                        fields=fields)
    except ReviewError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    _finish(rt, document_id, action)


@model_app.command("train")
def model_train() -> None:
    """Train the document-type model on every reviewed (approved or corrected) document."""
    try:
        report = train(_rt())
    except TrainingError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"trained on {report.examples} documents "
               f"({', '.join(f'{k}: {v}' for k, v in sorted(report.classes.items()))}) "
               f"→ {report.path}")


def register(app: typer.Typer) -> None:
    app.add_typer(review_app, name="review")
    app.add_typer(model_app, name="model")
