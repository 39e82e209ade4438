"""What the pipeline needs from the process it runs in, as an interface.

The composition root (`sohoa.runtime.Runtime`) provides it; the pipeline never builds one, so
it does not depend on how settings become a catalog, an object store or signers.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol

from sqlalchemy.orm import Session

from storage.objects import ObjectStore


class Context(Protocol):
    settings: Any  # sohoa.settings.Settings: ocr_lang, ocr_workers, review_threshold, ...
    # optional (read with getattr): an ocr.cache.ResultCache of pages already read, which the
    # OCR stage consults (batch capture reads a stack's pages while it splits them)
    ocr_cache: Any

    @property
    def objects(self) -> ObjectStore: ...

    @property
    def signers(self) -> Any: ...  # signing.signer.SignerProvider

    def open(self) -> Any: ...  # migrate and seed the catalog once (idempotent)

    def session(self) -> AbstractContextManager[Session]: ...
