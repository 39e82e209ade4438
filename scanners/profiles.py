"""Scan profiles: resolution, colour mode, source (flatbed, feeder, duplex) and page limits.

Profiles live in a station's TOML file (`[profiles.<name>]`) or use the defaults below. Decree
30/2020 asks for colour copies at 200 dpi or more, so lower resolutions are refused.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, fields
from pathlib import Path

MIN_DPI = 200
MODES = ("color", "gray", "lineart")
SOURCES = ("flatbed", "adf", "duplex")


class ProfileError(ValueError):
    """A scan profile is invalid; the message names the file and the profile."""


@dataclass(frozen=True)
class ScanProfile:
    name: str = "mac-dinh"
    dpi: int = 300
    mode: str = "color"
    source: str = "adf"
    max_pages: int = 0  # 0 = until the feeder is empty
    paper: str = "A4"

    def __post_init__(self):
        where = f"scan profile {self.name!r}"
        if not isinstance(self.dpi, int) or self.dpi < MIN_DPI or self.dpi > 1200:
            raise ProfileError(f"{where}: dpi must be an integer from {MIN_DPI} to 1200, got {self.dpi!r}")
        if self.mode not in MODES:
            raise ProfileError(f"{where}: mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.source not in SOURCES:
            raise ProfileError(f"{where}: source must be one of {', '.join(SOURCES)}, "
                               f"got {self.source!r}")
        if self.max_pages < 0:
            raise ProfileError(f"{where}: max_pages must be 0 or more")

    @property
    def duplex(self) -> bool:
        return self.source == "duplex"

    def to_dict(self) -> dict:
        return asdict(self)


DEFAULT_PROFILES = {
    "mac-dinh": ScanProfile(),
    "mat-kinh": ScanProfile(name="mat-kinh", source="flatbed", max_pages=1),
    "hai-mat": ScanProfile(name="hai-mat", source="duplex"),
    "xam-200": ScanProfile(name="xam-200", dpi=200, mode="gray"),
}


def load_profiles(path: Path | None) -> dict[str, ScanProfile]:
    """Profiles from a TOML file (merged over the defaults)."""
    profiles = dict(DEFAULT_PROFILES)
    if path is None:
        return profiles
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: not valid TOML ({exc})") from None
    known = {f.name for f in fields(ScanProfile)}
    for name, table in (data.get("profiles") or {}).items():
        if not isinstance(table, dict):
            raise ProfileError(f"{path}: profiles.{name} must be a table")
        unknown = set(table) - known
        if unknown:
            raise ProfileError(f"{path}: profiles.{name}: unknown keys {sorted(unknown)}")
        try:
            profiles[name] = ScanProfile(**{**table, "name": name})
        except ProfileError as exc:
            raise ProfileError(f"{path}: {exc}") from None
    return profiles
