"""`sohoa station`: serve the counter staff page on this PC (default http://127.0.0.1:8765)."""

from __future__ import annotations

import os
from pathlib import Path

import typer


def build_station(*, scanner: str | None, server: str | None, unit: str, spool_dir: Path | None,
                  profiles_file: Path | None = None, profile: str = "mac-dinh",
                  recognize: bool = True, retry_base: float = 1.0):
    from scanners.profiles import load_profiles
    from sohoa.settings import get_settings
    from station.app import Station
    from station.delivery import EmbeddedSink, ServerSink
    from station.spool import Spool

    settings = get_settings()
    root = spool_dir or Path(settings.home) / "station"
    spool = Spool(root)
    if server:
        sink = ServerSink(server, os.environ.get("SOHOA_STATION_API_KEY"))
    else:
        from sohoa.runtime import get_runtime

        sink = EmbeddedSink(get_runtime())
    return Station(spool, scanner_uri=scanner, unit=unit, sink=sink,
                   profiles=load_profiles(profiles_file), profile=profile, recognize=recognize,
                   ocr_lang=settings.ocr_lang, retry_base=retry_base)


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
) -> None:
    """Serve the scanner station page for counter staff (Vietnamese)."""
    import uvicorn

    from scanners.profiles import ProfileError
    from station.app import create_app
    from station.spool import SpoolBusy

    try:
        st = build_station(scanner=scanner, server=server, unit=unit, spool_dir=spool_dir,
                           profiles_file=profiles_file, profile=profile, recognize=recognize)
    except (SpoolBusy, ProfileError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    typer.echo(f"sohoa station: http://{host}:{port}/ (spool {st.spool.root})", err=True)
    from pipeline.metrics import logging_config
    from sohoa.settings import get_settings

    settings = get_settings()
    uvicorn.run(create_app(st), host=host, port=port,
                log_config=logging_config(settings.log_level, settings.log_format))


def register(app: typer.Typer) -> None:
    app.command("station")(station)
