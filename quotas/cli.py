"""Commands for records managers: `sohoa progress`, `sohoa baseline import`,
`sohoa results import`, `sohoa plans`."""

from __future__ import annotations

import json
import sys
from datetime import date
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console

err = Console(stderr=True, soft_wrap=True)

baseline_app = typer.Typer(help="Still-valid result totals per unit and year (the denominator).",
                           no_args_is_help=True)
results_app = typer.Typer(help="Results registered from the one-stop system.", no_args_is_help=True)


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


class Level(StrEnum):
    city = "city"
    district = "district"
    commune = "commune"


def _runtime():
    from sohoa.runtime import get_runtime

    return get_runtime()


def _fail(message: str, code: int = 2):
    err.print(message, markup=False, highlight=False)
    raise typer.Exit(code)


def _parse_day(text: str | None) -> date | None:
    if text is None:
        return None
    from quotas.imports import parse_date

    try:
        return parse_date(text)
    except ValueError as exc:
        _fail(f"--as-of: {exc}")


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    tmp = output.with_name(output.name + ".part")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(output)
    err.print(f"wrote {output}", markup=False)


def progress(
    year: int | None = typer.Option(None, "--year", help="Year (default: the as-of date's year "
                                    "or this year)."),
    level: Level | None = typer.Option(None, "--level", help="Only this level."),
    unit: str | None = typer.Option(None, "--unit", help="Only this unit code (all its versions "
                                    "in the year)."),
    as_of: str | None = typer.Option(None, "--as-of", help="Count up to this date "
                                     "(YYYY-MM-DD; default today, or 31 Dec of a past year)."),
    behind: bool = typer.Option(False, "--behind", help="Only rows that will miss the target."),
    fmt: Format = typer.Option(Format.table, "--format", help="table, json, csv or xlsx."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file."),
    chart: Path | None = typer.Option(None, "--chart", help="Also draw a PNG chart of levels "
                                      "and lagging units."),
    plan_name: str | None = typer.Option(None, "--plan", help="Plan id or TOML file "
                                         "(default hanoi-161-2021-2025)."),
    all_units: bool = typer.Option(False, "--all-units", help="List units without any results "
                                   "too."),
    ratios: bool = typer.Option(False, "--ratios", help="Decision 766 ratios per unit instead "
                                "(electronic copy, digitized, reused)."),
    as_json: bool = typer.Option(False, "--json", hidden=True, help="Same as --format json."),
) -> None:
    """Progress toward the year's quota per level and unit: valid results, digitized, percent,
    target, forecast, status."""
    from quotas import render
    from quotas.plans import PlanError, get_plan
    from quotas.progress import ProgressError, build_report
    from quotas.ratios import ratios_766

    if as_json:
        fmt = Format.json
    if fmt is Format.xlsx and output is None:
        _fail("--format xlsx needs --output FILE.xlsx")
    try:
        plan = get_plan(plan_name)
    except PlanError as exc:
        _fail(str(exc))
    day = _parse_day(as_of)
    rt = _runtime()
    try:
        with rt.session() as session:
            report = build_report(session, plan, year=year, as_of=day,
                                  level=level.value if level else None, unit=unit,
                                  behind=behind, all_units=all_units)
            ratio_rows = None
            if ratios or fmt is Format.xlsx:
                ratio_rows = ratios_766(session, plan.province, year=report.year,
                                        as_of=report.as_of,
                                        level=level.value if level else None, unit=unit)
    except ProgressError as exc:
        _fail(str(exc))
    if chart is not None:
        render.write_chart(report, chart)
        err.print(f"wrote {chart}", markup=False)
    if ratios:
        if fmt is Format.json:
            _write(json.dumps([r.to_dict() for r in ratio_rows], ensure_ascii=False, indent=1),
                   output)
        elif fmt is Format.csv:
            _write(render.ratios_csv(ratio_rows), output)
        elif fmt is Format.xlsx:
            render.write_xlsx(report, output, ratio_rows)
            err.print(f"wrote {output}", markup=False)
        else:
            Console(width=200).print(render.ratios_table(ratio_rows, report.year))
        return
    if fmt is Format.json:
        _write(render.to_json(report), output)
    elif fmt is Format.csv:
        _write(render.to_csv(report), output)
    elif fmt is Format.xlsx:
        render.write_xlsx(report, output, ratio_rows)
        err.print(f"wrote {output}", markup=False)
    else:
        if output is not None:
            console = Console(file=open(output, "w", encoding="utf-8"), width=220)  # noqa: SIM115
            console.print(render.table(report))
            console.file.close()
        else:
            console = Console()
            if not console.is_terminal:  # piped or captured: never wrap a report row
                console = Console(width=220)
            console.print(render.table(report))


@baseline_app.command("import")
def baseline_import(file: Path = typer.Argument(..., help="CSV or XLSX: unit_code, year, "
                                                "valid_results [, valid_on]")) -> None:
    """Import still-valid result totals per unit and year (all rows or none)."""
    from quotas.imports import ImportFileError, import_baseline

    rt = _runtime()
    try:
        with rt.session() as session:
            summary = import_baseline(session, file)
    except ImportFileError as exc:
        _fail(str(exc), 1)
    err.print(f"{file}: {summary.rows} rows, {summary.created} added, {summary.updated} updated",
              markup=False)


@results_app.command("import")
def results_import(file: Path = typer.Argument(..., help="CSV/XLSX export of the one-stop "
                                               "system")) -> None:
    """Register results (dossier code, procedure, unit code, number, issue date, validity …)."""
    from quotas.imports import ImportFileError, import_results

    rt = _runtime()
    try:
        with rt.session() as session:
            summary = import_results(session, file)
    except ImportFileError as exc:
        _fail(str(exc), 1)
    err.print(f"{file}: {summary.rows} rows, {summary.created} registered, {summary.updated} "
              f"updated, {summary.linked_documents} digitized documents linked", markup=False)


def plans() -> None:
    """List the shipped quota plans and their targets."""
    from quotas.plans import load_plan, shipped_plans

    out = Console()
    for name, path in shipped_plans().items():
        plan = load_plan(path)
        out.print(f"[bold]{name}[/bold] — {plan.name} (province {plan.province})")
        for year in plan.years:
            targets = ", ".join(f"{lvl} {pct:g}%" for lvl, pct in plan.targets[year].items())
            out.print(f"  {year}: {targets}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("progress")(progress)
    app.command("plans")(plans)
    app.add_typer(baseline_app, name="baseline")
    app.add_typer(results_app, name="results")
