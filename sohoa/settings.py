"""All runtime configuration, read once from `SOHOA_*` environment variables.

`SOHOA_HOME` holds everything the embedded default needs (SQLite catalog, object folder,
generated TEST keys), so two homes never mix. Every other setting defaults to a path inside it.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SOHOA_", extra="ignore")

    home: Path = Field(default=Path("var"), description="folder for the embedded default")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite in home")
    storage_url: str | None = Field(default=None, description="file:///dir or s3://…; folder in home")
    broker_url: str = Field(default="inline", description="inline, redis://… or amqp://…")
    signing_key: str = Field(default="dev", description="'dev' for the TEST PKI, or a key spec")
    signature_level: str = Field(default="B-B", description="PAdES level: B-B, B-T, B-LT, B-LTA")
    tsa_url: str | None = Field(default=None, description="RFC 3161 TSA URL (B-T and up); "
                                "'dev' = TEST TSA")
    ocr_lang: str = "vie"
    ocr_workers: int = Field(default_factory=lambda: os.cpu_count() or 1)
    max_image_pixels: int = 120_000_000
    max_image_side: int = 30_000
    review_threshold: float = Field(default=0.6, description="below: needs_review, not signed")
    issuing_system: str = "sohoa"
    agency: str | None = Field(default=None, description="code of the agency this counter "
                               "makes copies for (storage.agencies), when the dossier code does "
                               "not name one")
    public_url: str = Field(default="http://localhost:8000",
                            description="where other systems reach the API (QR verify links)")

    @property
    def resolved_home(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def catalog_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.resolved_home / 'catalog.sqlite3'}"

    @property
    def objects_url(self) -> str:
        if self.storage_url:
            return self.storage_url
        return f"file://{self.resolved_home / 'objects'}"

    @property
    def keys_dir(self) -> Path:
        return self.resolved_home / "keys"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
