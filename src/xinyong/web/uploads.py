"""Receiving files: streamed to disk under the files directory with a size cap, so a large
upload never sits in memory and a too-large one is refused with a clear message."""

from __future__ import annotations

import contextlib
import uuid
from pathlib import Path

from fastapi import UploadFile

from xinyong.core.errors import InvalidInput
from xinyong.core.settings import get_settings

ACCEPTED_SUFFIXES = (".csv", ".xlsx", ".jsonl", ".json", ".txt")
CHUNK = 1 << 20


class TooLarge(InvalidInput):
    code = "too_large"


async def save_upload(upload: UploadFile) -> Path:
    """The upload as a file of its own; the caller deletes it once ingested (ingest keeps
    its own copy of the source in the batch's folder)."""
    name = upload.filename or ""
    suffix = Path(name).suffix.lower()
    if not name:
        raise InvalidInput("请选择要上传的文件", code="file_required")
    if suffix not in ACCEPTED_SUFFIXES:
        raise InvalidInput(f"不支持的文件类型“{suffix or '无扩展名'}”：请上传 CSV、XLSX 或 JSON Lines 文件",
                           code="file_type")
    limit = get_settings().max_upload_mib << 20
    # A folder of its own keeps the name the person gave the file: a message about the file
    # ("文件 处罚.csv 为空") names it, not a random one.
    folder = get_settings().files_dir / "uploads" / uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / _safe_name(name, suffix)
    size = 0
    try:
        with path.open("wb") as out:
            while block := await upload.read(CHUNK):
                size += len(block)
                if size > limit:
                    raise TooLarge(f"文件超过 {get_settings().max_upload_mib} MiB 的上限，请分批报送")
                out.write(block)
    except BaseException:
        discard(path)
        raise
    return path


def _safe_name(name: str, suffix: str) -> str:
    """The file's own name without any folder part or character a file system refuses."""
    base = Path(name.replace("\\", "/")).name
    stem = "".join(c for c in base[: -len(suffix) or None] if c not in '<>:"|?*' and ord(c) >= 32)
    return (stem.strip(" .")[:100] or "上传文件") + suffix


def discard(path: Path) -> None:
    """Delete a saved upload and its folder."""
    path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # not empty or gone: leave it
        path.parent.rmdir()
