"""Where a rules data file is read from: the national defaults shipped in `xinyong/data`, then
the locality's file of the same name in `$XINYONG_DATA_DIR`, which overrides them."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from xinyong.core.settings import get_settings


def rule_paths(file: str, data_dir: Path | None = None) -> list[Path]:
    """The shipped `file`, then the locality's `<data_dir>/<file>` when there is one."""
    found = [Path(str(resources.files("xinyong.data").joinpath(file)))]
    local = data_dir if data_dir is not None else get_settings().data_dir
    if local is not None and (local / file).is_file():
        found.append(local / file)
    return found
