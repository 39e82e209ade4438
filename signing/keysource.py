"""Where signing keys come from, as typed configs: one interface over every kind of key.

Owns: :class:`DevKeySource` (the generated TEST PKI), :class:`Pkcs12KeySource` (a PKCS#12
file), :class:`Pkcs11KeySource` (a token or HSM), :class:`KeyMapSource` (a key per agency and
per unit, :mod:`signing.keymap`) and :func:`parse_key_source`, which turns the text forms of
``SOHOA_SIGNING_KEY`` (and of an agency's own ``signing_key``) into them:

* ``dev``
* ``pkcs12:/path/file.p12?pass_env=VAR`` (or ``pass_file=/path``; ``trust=/a.pem,/b.pem``)
* ``pkcs11:module=/usr/lib/softhsm/libsofthsm2.so;token=LABEL;key=LABEL;pin_env=VAR``
* ``map:/path/keys.toml``

A single-key source (PKCS#12, PKCS#11) has ``trust`` (roots that verify its signatures) and
``open(**options)`` giving a loaded :class:`signing.signer.UnitSigner`; a key map gives the
single-key source of an agency or unit with :meth:`KeyMapSource.source_for`. Secrets are read
when the spec is parsed (from the environment variables or files it names), never printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from signing.keymap import load_key_map
from signing.pkcs11 import open_pkcs11_signer, parse_pkcs11_spec
from signing.signer import SigningError, UnitSigner, _parse_pkcs12_spec


@dataclass(frozen=True)
class DevKeySource:
    """The generated TEST PKI under the keys folder: a TEST certificate per unit or agency."""

    spec: str = "dev"
    trust: tuple[Path, ...] = ()


@dataclass(frozen=True)
class Pkcs12KeySource:
    path: Path
    passphrase: bytes | None = field(default=None, repr=False)
    trust: tuple[Path, ...] = ()
    spec: str = field(default="", repr=False)

    def open(self, **options):
        return UnitSigner.from_pkcs12(self.path, self.passphrase, **options)


@dataclass(frozen=True)
class Pkcs11KeySource:
    token: object  # signing.pkcs11.Pkcs11Spec
    spec: str = field(default="", repr=False)

    @property
    def trust(self) -> tuple[Path, ...]:
        return tuple(self.token.trust)

    def open(self, **options):
        return open_pkcs11_signer(self.token, **options)


SingleKeySource = Pkcs12KeySource | Pkcs11KeySource


@dataclass(frozen=True)
class KeyMapSource:
    """A key per agency and per unit (see :mod:`signing.keymap`), every spec parsed up front."""

    keymap: object  # signing.keymap.KeyMap
    sources: dict[str, SingleKeySource]
    spec: str = ""

    @property
    def trust(self) -> tuple[Path, ...]:
        roots = list(self.keymap.trust)
        for source in self.sources.values():
            roots.extend(t for t in source.trust if t not in roots)
        return tuple(roots)

    def source_for(self, unit_code: str, agency_code: str | None = None) -> SingleKeySource:
        return self.sources[self.keymap.spec_for(unit_code, agency_code)]


KeySource = DevKeySource | Pkcs12KeySource | Pkcs11KeySource | KeyMapSource


def parse_single(spec: str) -> SingleKeySource:
    """A ``pkcs12:`` or ``pkcs11:`` spec as a typed config; :class:`SigningError` otherwise."""
    spec = (spec or "").strip()
    if spec.startswith("pkcs12:"):
        p = _parse_pkcs12_spec(spec)
        return Pkcs12KeySource(path=p.path, passphrase=p.passphrase, trust=tuple(p.trust),
                               spec=spec)
    if spec.startswith("pkcs11:"):
        return Pkcs11KeySource(token=parse_pkcs11_spec(spec), spec=spec)
    raise SigningError(f"signing key {spec.split(':')[0]!r}...: use a pkcs12: or pkcs11: spec")


def parse_key_source(spec: str) -> KeySource:
    """The typed config a ``SOHOA_SIGNING_KEY`` value names; :class:`SigningError` naming the
    problem (an unknown form, a missing file or environment variable, a bad key map)."""
    spec = (spec or "").strip()
    if spec == "dev":
        return DevKeySource()
    if spec.startswith("map:"):
        keymap = load_key_map(spec[len("map:"):])
        return KeyMapSource(keymap=keymap, sources={s: parse_single(s) for s in keymap.specs()},
                            spec=spec)
    if spec.startswith(("pkcs12:", "pkcs11:")):
        return parse_single(spec)
    raise SigningError(
        f"signing key spec {spec!r} is not understood: use 'dev', "
        "'pkcs12:/path/file.p12?pass_env=VAR', 'pkcs11:module=...;token=...;key=...' "
        "or 'map:/path/keys.toml'"
    )
