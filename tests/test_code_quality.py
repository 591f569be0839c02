"""The code base stays typed and lint-clean: CI fails when it does not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def test_ruff_is_clean() -> None:
    result = run("ruff", "check", "src", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean_on_src() -> None:
    result = run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_core_imports_nothing_of_the_capabilities() -> None:
    """The kernel stands at the bottom: core/ never imports a capability, web or the CLI."""
    offenders = [
        f"{path.relative_to(ROOT)}: {line.strip()}"
        for path in (ROOT / "src/xinyong/core").rglob("*.py")
        if "migrations" not in path.parts
        for line in path.read_text("utf-8").splitlines()
        if line.lstrip().startswith(("import xinyong", "from xinyong"))
        and not line.lstrip().startswith(("from xinyong.core", "import xinyong.core",
                                          "from xinyong import __version__"))
    ]
    assert offenders == []
