"""All runtime configuration, read once from `SOHOA_*` environment variables and validated when
a process starts (a bad value is one clear error naming the variable, before any work).

`SOHOA_HOME` holds everything the embedded default needs (SQLite catalog, object folder,
generated TEST keys), so two homes never mix. Every other setting defaults to a path inside it.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
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
    max_pages: int = Field(default=1000, description="pages per input file (ocr.limits)")
    max_stream_mb: int = Field(default=256, description="one PDF stream once inflated")
    render_seconds: float = Field(default=60.0, description="pdftoppm wall time per page")
    render_memory_mb: int = Field(default=1024, description="pdftoppm address space")
    decode_memory_mb: int = Field(default=1536, description="address space of the child that "
                                  "decodes an input image (ocr.imagedecode)")
    pdf_stored_scans: bool = Field(default=False, description="read a PDF page that is one "
                                   "plain scan image as stored instead of rendering it (faster "
                                   "batch imports; ocr.limits.Limits.stored_scans)")
    review_threshold: float = Field(default=0.6, description="below: needs_review, not signed")
    issuing_system: str = "sohoa"
    agency: str | None = Field(default=None, description="code of the agency this counter "
                               "makes copies for (storage.agencies), when the dossier code does "
                               "not name one")
    public_url: str = Field(default="http://localhost:8000",
                            description="where other systems reach the API (QR verify links)")

    # workers (pipeline.actors.Policy): retries, leases, time limits
    max_attempts: int = Field(default=8, description="attempts of one stage before it fails")
    retry_min_backoff_ms: int = 2000
    retry_max_backoff_ms: int = 600_000
    lease_seconds: int = Field(default=30, description="a worker's hold on a document; renewed")
    stage_time_limit_s: int = 3600
    worker_ocr_workers: int = Field(default=1, description="Tesseract processes per document")
    # the sweeper in each worker (pipeline.sweeper)
    sweep_interval_s: float = 20.0
    stale_after_s: float = 60.0
    # observability (pipeline.metrics)
    metrics_port: int | None = Field(default=None, description="workers' Prometheus port")
    metrics_host: str = "127.0.0.1"
    log_format: Literal["json", "text"] = "json"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _case(cls, value, info):
        if not isinstance(value, str):
            return value
        return value.upper() if info.field_name == "log_level" else value.lower()

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


class SettingsError(ValueError):
    """One or more SOHOA_* variables have values that cannot be used (one line each)."""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, validated; SettingsError names each bad variable."""
    try:
        return Settings()
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            name = "SOHOA_" + "_".join(str(p) for p in error["loc"]).upper()
            lines.append(f"{name}={error.get('input')!r}: {error['msg']}")
        raise SettingsError("\n".join(lines)) from None
