"""Per-agency and per-unit signing keys: a TOML file mapping codes to key specs.

Owns: :class:`KeyMap` and :func:`load_key_map` for ``SOHOA_SIGNING_KEY=map:/path/keys.toml``.
The agency that makes a copy signs it with its own certificate (``[agencies]``, by agency
code); an agency missing there signs with its unit's key (``[units]``), then ``default``;
with none of them the copy is refused. File format::

    # keys.toml
    default = "pkcs11:module=/usr/lib/softhsm/libsofthsm2.so;token=so;key=so;pin_env=PIN"
    trust = ["/etc/sohoa/vgca-root.pem"]          # optional, added to each spec's trust=

    [units]
    "00004" = "pkcs12:/etc/sohoa/keys/00004.p12?pass_env=P12_00004"
    "00008" = "pkcs11:module=/usr/lib/softhsm/libsofthsm2.so;token=t8;key=k8;pin_file=/run/pin8"

    [agencies]
    "000.00.12.H26" = "pkcs11:module=/usr/lib/softhsm/libsofthsm2.so;token=stp;key=stp;pin_env=P"

Only ``pkcs12:`` and ``pkcs11:`` specs are allowed inside a map. Relative paths in
``trust`` are relative to the TOML file. Secrets never sit in the file: PINs and passphrases
come from environment variables or files named by the specs.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from signing.signer import SigningError


@dataclass(frozen=True)
class KeyMap:
    path: Path
    units: dict[str, str]
    default: str | None = None
    trust: list[Path] = field(default_factory=list)
    agencies: dict[str, str] = field(default_factory=dict)

    def spec_for(self, unit_code: str, agency_code: str | None = None) -> str:
        """The key spec of ``agency_code``, else of ``unit_code``, else the default;
        :class:`SigningError` if none."""
        spec = self.agencies.get(agency_code) if agency_code else None
        spec = spec or self.units.get(unit_code, self.default)
        if spec is None:
            who = f"agency {agency_code!r} of unit {unit_code!r}" if agency_code \
                else f"unit {unit_code!r}"
            raise SigningError(
                f"{self.path}: no signing key for {who} and no default; "
                f"add it under [agencies] or [units]"
            )
        return spec

    def specs(self) -> list[str]:
        """Every distinct spec of the map (default included), in file order."""
        seen = dict.fromkeys([*self.agencies.values(), *self.units.values()])
        if self.default:
            seen.setdefault(self.default)
        return list(seen)


def _check_spec(path: Path, where: str, spec: object) -> str:
    if not isinstance(spec, str) or not spec.strip():
        raise SigningError(f"{path}: {where} must be a key spec string")
    spec = spec.strip()
    if not spec.startswith(("pkcs12:", "pkcs11:")):
        raise SigningError(
            f"{path}: {where} = {spec.split(':')[0]!r}...: only pkcs12: and pkcs11: specs "
            "are allowed in a key map"
        )
    return spec


def load_key_map(path: Path | str) -> KeyMap:
    """Read and check a key map; raise :class:`SigningError` naming the file and the problem."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SigningError(f"{path}: cannot read the signing key map: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SigningError(f"{path}: not a valid TOML key map: {exc}") from None
    unknown = set(data) - {"default", "trust", "units", "agencies"}
    if unknown:
        raise SigningError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}")
    units_raw = data.get("units", {})
    if not isinstance(units_raw, dict):
        raise SigningError(f"{path}: [units] must be a table of \"unit code\" = \"key spec\"")
    units = {str(code): _check_spec(path, f"units.{code}", spec)
             for code, spec in units_raw.items()}
    agencies_raw = data.get("agencies", {})
    if not isinstance(agencies_raw, dict):
        raise SigningError(f"{path}: [agencies] must be a table of \"agency code\" = \"key spec\"")
    agencies = {str(code): _check_spec(path, f"agencies.{code}", spec)
                for code, spec in agencies_raw.items()}
    default = data.get("default")
    if default is not None:
        default = _check_spec(path, "default", default)
    if not units and not agencies and default is None:
        raise SigningError(f"{path}: the key map has no [agencies], no [units] and no default")
    trust_raw = data.get("trust", [])
    if isinstance(trust_raw, str):
        trust_raw = [trust_raw]
    if not isinstance(trust_raw, list) or not all(isinstance(t, str) for t in trust_raw):
        raise SigningError(f"{path}: trust must be a list of PEM file paths")
    trust = [(path.parent / t) if not Path(t).is_absolute() else Path(t) for t in trust_raw]
    return KeyMap(path=path, units=units, default=default, trust=trust, agencies=agencies)
