"""The station's set-up check (`check_setup`): what every submission relies on, checked before
the counter page opens: the unit code is an official one, the central server answers and takes
the API key. `sohoa station` (sohoa.commands.station) runs it and stops with its message."""

from __future__ import annotations

import logging

import httpx

from storage.units import unit_label

log = logging.getLogger(__name__)


class SetupError(RuntimeError):
    """The station cannot work as configured; the message says what to fix."""


def check_setup(*, unit: str, server: str | None, api_key: str | None, timeout: float = 5.0,
                known_server: str | None = None) -> str:
    """Check what every submission will rely on, before the counter starts; returns the unit's
    name. Unknown unit, unreachable server, missing or refused key: SetupError.

    A server this spool already reached once (`known_server`) may be down for a while: the
    station then starts and keeps scans in its spool until the network is back, since a
    counter must not stop working during an outage. A server never reached is a set-up error.
    """
    name = unit_label(unit)
    if name is None:
        raise SetupError(f"unknown unit code {unit!r}: not in the official admin unit lists "
                         "(a commune has 5 digits, e.g. 00004); check --unit / SOHOA_STATION_UNIT")
    if server:
        base = server.rstrip("/")
        try:
            httpx.get(f"{base}/healthz", timeout=timeout).raise_for_status()
        except httpx.HTTPError as exc:
            if known_server == base and api_key:
                log.warning("central server %s not reachable now (%s); scans wait in the spool",
                            base, type(exc).__name__)
                return name
            raise SetupError(f"central server {base} is not reachable ({type(exc).__name__}); "
                             "check --server / SOHOA_STATION_SERVER and the network") from None
        if not api_key:
            raise SetupError("no API key for the central server: set SOHOA_STATION_API_KEY "
                             "(sohoa api-client create … --scope ingest on the server)")
        try:
            resp = httpx.get(f"{base}/v1/ingest/setup-check", timeout=timeout,
                             headers={"Authorization": f"Bearer {api_key}"})
        except httpx.HTTPError as exc:
            raise SetupError(f"central server {base} did not answer ({type(exc).__name__})") from None
        if resp.status_code in (401, 403):
            raise SetupError(f"central server {base} refused the API key in SOHOA_STATION_API_KEY "
                             f"(HTTP {resp.status_code}); it needs the ingest scope")
    return name
