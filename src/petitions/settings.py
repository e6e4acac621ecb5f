"""All settings in one place: environment variables `PETITIONS_*`, then defaults.

The command line overrides `data_dir` and `db_url`; everything else is read here so an
administrator has one page to look at (see README, "Settings").
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PETITIONS_", extra="ignore", populate_by_name=True)

    data_dir: Path = Field(default=Path("petitions-data"), validation_alias="PETITIONS_HOME")
    db_url: str | None = None
    routing_path: Path | None = Field(default=None, validation_alias="PETITIONS_ROUTING")
    deadlines_path: Path | None = Field(default=None, validation_alias="PETITIONS_DEADLINES")
    # The shipped models; `petitions train --models-dir` can write elsewhere.
    models_dir: Path = Path(__file__).resolve().parents[2] / "models"

    # Intake: a file whose size or mtime changed within this many seconds is still being written.
    settle_seconds: float = 5.0
    max_file_mb: int = 200
    # Reading limits: protect the batch from decompression bombs and absurd documents.
    max_pages: int = 300
    max_image_pixels: int = 120_000_000
    max_page_side_px: int = 12_000
    min_page_side_px: int = 40
    # OCR
    ocr_lang: str = "vie"
    ocr_dpi: int = 300
    ocr_timeout_s: float = 120.0
    ocr_workers: int = Field(default_factory=lambda: os.cpu_count() or 1)
    text_layer_min_chars: int = 40
    # From this many letters in a run, their text analysis runs in one worker process per core.
    analysis_pool_min_letters: int = 24
    ocr_low_confidence: float = 70.0
    # A case is recurrent from the letter that makes it at least this many letters whose
    # received dates span more than this many days.
    recurrence_min_letters: int = 3
    recurrence_span_days: int = 90
    # Scheduled processing (`petitions serve`): cron expressions in this time zone.
    timezone: str = "Asia/Ho_Chi_Minh"
    nightly_cron: str = "0 1 * * *"
    # Inbox polling during office hours; a plain number means every that many seconds.
    poll_schedule: str = "*/15 7-17 * * 1-5"
    inbox: Path | None = None  # the folder `serve` watches
    # A Dask scheduler ("tcp://host:8786") to read letters on several machines, or "local".
    dask_address: str | None = None
    # Review web app (`petitions review`): localhost only unless the administrator opens it.
    review_host: str = "127.0.0.1"
    review_port: int = 8765
    session_hours: float = 8.0
    login_max_failures: int = 5  # per user name within the window, then refused until it passes
    login_window_minutes: int = 15
    # Retraining with corrections: a candidate is promoted only if no figure drops by more
    # than `retrain_margin`; the newest `retrain_eval_share` of corrected letters are kept out
    # of its training to test it; corrected letters count `retrain_correction_weight` times.
    retrain_margin: float = 0.01
    retrain_eval_share: float = 0.3
    retrain_correction_weight: int = 3

    @property
    def archive_dir(self) -> Path:
        return self.data_dir / "archive"

    @property
    def database_url(self) -> str:
        return self.db_url or f"sqlite:///{(self.data_dir / 'petitions.sqlite3').resolve()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()


def configure(data_dir: Path | None = None, db_url: str | None = None) -> Settings:
    """Apply command-line overrides once, at start-up."""
    s = get_settings()
    if data_dir is not None:
        s.data_dir = data_dir
    if db_url is not None:
        s.db_url = db_url
    return s
