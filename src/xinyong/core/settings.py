"""The one place that reads the environment (`XINYONG_*`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="XINYONG_", extra="ignore")

    database_url: str = "sqlite:///./xinyong.db"
    # Extra rule files (catalog supplements, calendar years …) a locality adds without code.
    data_dir: Path | None = None
    # Where submitted files and error reports are kept (keep the source: nothing is lost).
    files_dir: Path = Path("./xinyong-files")
    # Rows per ingest chunk: bounds memory and sets the unit of bulk writes.
    ingest_chunk_rows: int = 5000


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
