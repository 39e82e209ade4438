"""`sohoa scanners …`: list devices and scan a batch to image files (for checking a setup)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from scanners.base import ScannerError
from scanners.profiles import ProfileError, ScanProfile
from scanners.registry import list_devices, open_scanner

scanners_app = typer.Typer(help="Scanners: list devices, test a scan.", no_args_is_help=True)


@scanners_app.command("list")
def list_cmd(as_json: bool = typer.Option(False, "--json", help="JSON output.")) -> None:
    """List the scanners SANE can reach (USB, network eSCL through sane-airscan)."""
    devices = list_devices()
    if as_json:
        typer.echo(json.dumps([d.__dict__ for d in devices], ensure_ascii=False))
        return
    if not devices:
        typer.echo("no scanner found (check SANE: `scanimage -L`)", err=True)
    for d in devices:
        typer.echo(f"{d.uri}\t{d.label}\t{d.kind}")


@scanners_app.command("scan")
def scan_cmd(
    uri: str = typer.Argument(..., help="sane:<dev>, escl:<url>, folder:<dir> or file:<paths>"),
    out: Path = typer.Option(Path("."), "--out", help="Folder for the page images."),
    dpi: int = typer.Option(300, "--dpi"),
    mode: str = typer.Option("color", "--mode", help="color, gray or lineart"),
    source: str = typer.Option("adf", "--source", help="flatbed, adf or duplex"),
) -> None:
    """Scan one batch and write page-NNN.png files."""
    try:
        profile = ScanProfile(name="cli", dpi=dpi, mode=mode, source=source)
    except ProfileError as exc:
        raise typer.BadParameter(str(exc)) from None
    out.mkdir(parents=True, exist_ok=True)

    def save(page):
        path = out / f"page-{page.index + 1:03d}.png"
        page.image.save(path, dpi=(page.dpi, page.dpi))
        typer.echo(str(path))

    try:
        with open_scanner(uri) as scanner:
            scanner.scan(profile, on_page=save)
    except ScannerError as exc:
        typer.echo(f"{exc.vi} ({exc}; {len(exc.pages)} page(s) kept)", err=True)
        raise typer.Exit(2) from None


def register(app: typer.Typer) -> None:
    app.add_typer(scanners_app, name="scanners")
