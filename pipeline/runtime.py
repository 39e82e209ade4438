"""The long-lived things every stage needs: settings, catalog, object store, signers.

Built once per process and reused, so keys stay loaded and connections pooled (DESIGN: keep
signers per unit, never parse a key per signature).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property

from sohoa.settings import Settings, get_settings
from storage import db
from storage.objects import ObjectStore, open_object_store


@dataclass
class Runtime:
    settings: Settings
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @cached_property
    def database_url(self) -> str:
        url = self.settings.catalog_url
        db.ensure_schema(url)
        from storage.units import seed_procedures, seed_units

        with db.session_scope(url) as session:
            seed_units(session)
            seed_procedures(session)
        return url

    def session(self):
        return db.session_scope(self.database_url)

    @cached_property
    def objects(self) -> ObjectStore:
        return open_object_store(self.settings.objects_url)

    @cached_property
    def signers(self):
        from signing.signer import SignerProvider

        return SignerProvider(self.settings.signing_key, self.settings.keys_dir,
                              level=self.settings.signature_level, tsa=self.settings.tsa_url)


_runtime: Runtime | None = None


def get_runtime(settings: Settings | None = None) -> Runtime:
    """The process-wide runtime (a new one when explicit settings are given)."""
    global _runtime
    if settings is not None:
        return Runtime(settings)
    if _runtime is None:
        _runtime = Runtime(get_settings())
    return _runtime
