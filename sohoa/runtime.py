"""The composition root: settings → catalog, object store, signer provider, broker, dispatcher.

One `Runtime` per process (`get_runtime()`), built from the settings and reused, so keys stay
loaded and connections pooled (DESIGN: keep signers per unit, never parse a key per signature).
Opening the catalog is an explicit step, `Runtime.open()`: it upgrades the embedded SQLite
schema (checks a server's) and seeds admin units and procedures, once; `session()` opens it if
nobody did. The parts below never build a runtime: they receive one (`pipeline.context.Context`
is what the pipeline expects of it), and only the `sohoa` command, its command modules
(`sohoa/commands/`) and the process entry points (`sohoa.worker`, `create_api`) call `get_runtime()`.

The broker, the dispatcher and the signer provider are imported when first used: `sohoa --help`
and commands that only read the catalog do not load OpenCV, pyHanko or dramatiq's brokers.
"""

from __future__ import annotations

import threading
from functools import cached_property

from sohoa.settings import Settings, get_settings
from storage import db
from storage.objects import ObjectStore, open_object_store
from storage.units import seed_procedures, seed_units


class Runtime:
    """The long-lived things every part needs, built from one `Settings`."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.ocr_cache = None  # ocr.cache.ResultCache while a batch commits pages it has read
        self._opened = False
        self._open_lock = threading.Lock()

    @property
    def database_url(self) -> str:
        return self.settings.catalog_url

    def open(self) -> Runtime:
        """Open the catalog: upgrade the embedded schema (refuse an outdated server one), seed
        admin units and procedures. Once per runtime, safe from several threads."""
        if self._opened:
            return self
        with self._open_lock:
            if not self._opened:
                url = self.database_url
                db.ensure_schema(url)
                with db.session_scope(url) as session:
                    seed_units(session)
                    seed_procedures(session)
                self._opened = True
        return self

    def session(self):
        """A catalog session that commits on success (the catalog is opened first if needed)."""
        self.open()
        return db.session_scope(self.database_url)

    @cached_property
    def objects(self) -> ObjectStore:
        return open_object_store(self.settings.objects_url)

    @cached_property
    def signers(self):
        from signing.signer import SignerProvider

        return SignerProvider(self.settings.signing_key, self.settings.keys_dir,
                              level=self.settings.signature_level, tsa=self.settings.tsa_url)

    @cached_property
    def broker(self):
        """The dramatiq broker of SOHOA_BROKER_URL (None: inline); BrokerConfigError if bad."""
        from pipeline.broker import get_broker

        return get_broker(self.settings.broker_url)

    @cached_property
    def dispatcher(self):
        """How documents move on (`pipeline.dispatch`), chosen once from the settings."""
        from pipeline.dispatch import make_dispatcher

        return make_dispatcher(self, self.broker)


_runtime: Runtime | None = None


def get_runtime(settings: Settings | None = None) -> Runtime:
    """The process-wide runtime (a new one when explicit settings are given)."""
    global _runtime
    if settings is not None:
        return Runtime(settings)
    if _runtime is None:
        _runtime = Runtime(get_settings())
    return _runtime


def create_api():
    """The retrieval API over the process-wide runtime (uvicorn's factory for `sohoa serve`)."""
    from api.app import create_app

    return create_app(runtime=get_runtime())
