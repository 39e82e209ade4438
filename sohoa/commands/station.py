"""`sohoa station`: serve the counter staff page on this PC (default http://127.0.0.1:8765)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import typer

from pipeline.metrics import logging_config
from scanners.profiles import ProfileError, load_profiles
from sohoa.runtime import get_runtime
from sohoa.settings import get_settings
from station.app import Station, create_app
from station.delivery import EmbeddedSink, ServerSink
from station.setup import SetupError, check_setup
from station.spool import Spool, SpoolBusy


def build_station(*, scanner: str | None, server: str | None, unit: str, spool_dir: Path | None,
                  profiles_file: Path | None = None, profile: str = "mac-dinh",
                  recognize: bool = True, retry_base: float = 1.0, province: str | None = None,
                  unit_name: str | None = None):
    settings = get_settings()
    root = spool_dir or Path(settings.home) / "station"
    spool = Spool(root)
    if server:
        sink = ServerSink(server, os.environ.get("SOHOA_STATION_API_KEY"))
    else:
        sink = EmbeddedSink(get_runtime())
    return Station(spool, scanner_uri=scanner, unit=unit, sink=sink,
                   profiles=load_profiles(profiles_file), profile=profile, recognize=recognize,
                   ocr_lang=settings.ocr_lang, retry_base=retry_base, province=province,
                   unit_name=unit_name)


def station(
    scanner: str | None = typer.Option(None, "--scanner", envvar="SOHOA_STATION_SCANNER",
                                       help="sane:<dev>, escl:<url>, folder:<dir> (`sohoa scanners list`)."),
    server: str | None = typer.Option(None, "--server", envvar="SOHOA_STATION_SERVER",
                                      help="Central server URL; API key from SOHOA_STATION_API_KEY. "
                                           "Without it, results are processed and stored on this PC."),
    unit: str = typer.Option(..., "--unit", envvar="SOHOA_STATION_UNIT",
                             help="The admin unit code this counter issues results for."),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8765, "--port"),
    spool_dir: Path | None = typer.Option(None, "--spool", help="Spool folder ($SOHOA_HOME/station)."),
    profiles_file: Path | None = typer.Option(None, "--profiles", help="TOML scan profiles file."),
    profile: str = typer.Option("mac-dinh", "--profile", help="Default scan profile."),
    recognize: bool = typer.Option(True, "--recognize/--no-recognize",
                                   help="Recognize type and fields before submitting."),
    province: str | None = typer.Option(
        None, "--province", envvar="SOHOA_STATION_PROVINCE",
        help="Accept only dossier codes of this province's agencies (the last group of the "
             "agency code, e.g. H26 for Hà Nội; Circular 01/2018/TT-VPCP)."),
) -> None:
    """Serve the scanner station page for counter staff (Vietnamese)."""
    import uvicorn

    unit = unit.strip()
    if province and not re.fullmatch(r"[A-Za-z]\d{2}", province.strip()):
        typer.echo(f"sohoa station: --province {province!r}: expected a letter and two digits "
                   "as in agency codes (H26 for Hà Nội)", err=True)
        raise typer.Exit(2)

    spool_root = spool_dir or Path(get_settings().home) / "station"
    known = spool_root / "server-checked.txt"  # the last server the set-up check reached
    try:
        name = check_setup(unit=unit, server=server, api_key=os.environ.get("SOHOA_STATION_API_KEY"),
                           known_server=known.read_text().strip() if known.exists() else None)
        st = build_station(scanner=scanner, server=server, unit=unit, spool_dir=spool_dir,
                           profiles_file=profiles_file, profile=profile, recognize=recognize,
                           province=province.strip().upper() if province else None,
                           unit_name=name)
    except (SetupError, SpoolBusy, ProfileError) as exc:
        typer.echo(f"sohoa station: {exc}", err=True)
        raise typer.Exit(2) from None
    if server:
        known.write_text(server.rstrip("/") + "\n")
    typer.echo(f"sohoa station: http://{host}:{port}/ (spool {st.spool.root})", err=True)

    settings = get_settings()
    uvicorn.run(create_app(st), host=host, port=port,
                log_config=logging_config(settings.log_level, settings.log_format))


def register(app: typer.Typer) -> None:
    app.command("station")(station)
