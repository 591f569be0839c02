"""`xinyong serve --workers 2`, for real: two server processes, each with its own check index,
answering over HTTP. A list entry removed and a repair approved by a third process (the
credit office's own) change the answer of every worker at the very next check."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from xinyong.accounts import service as accounts
from xinyong.core import audit
from xinyong.core.db import writing
from xinyong.lists import service as lists
from xinyong.repair import service as repair

from ..factories import numbered_uscc
from ..repair.test_service import applicant
from ..web.browser_server import free_port, wait_until_serving
from .test_service import PDF, STAFF, TODAY, listed, serious_penalty

ROUNDS = 24  # fresh connections per look: the kernel spreads them over both workers


@pytest.fixture
def served(engine: Engine, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The server's URL and its log (JSON lines, each naming the worker's pid)."""
    port = free_port()
    log = tmp_path / "server.log"
    env = {**os.environ, "XINYONG_DATABASE_URL": engine.url.render_as_string(hide_password=False),
           "XINYONG_FILES_DIR": str(tmp_path / "files"), "XINYONG_RATE_LIMIT_PER_MINUTE": "0"}
    server = subprocess.Popen([sys.executable, "-m", "xinyong", "serve", "--port", str(port),
                               "--workers", "2"], env=env, stdout=subprocess.DEVNULL,
                              stderr=log.open("wb"))
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_until_serving(url, lambda: server.poll() is None, 60)
        except RuntimeError as failed:
            raise RuntimeError(f"xinyong serve did not start: {log.read_text()[-2000:]}") from failed
        yield url, log
    finally:
        server.terminate()
        server.wait(timeout=30)


def look(url: str, token: str, matter: str, uscc: str) -> list[dict[str, object]]:
    """Every answer over `ROUNDS` fresh connections."""
    answers = []
    for _ in range(ROUNDS):
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}) as client:
            response = client.post(f"{url}/api/v1/checks", json={"uscc": uscc, "matter": matter})
            assert response.status_code == 200, response.text
            answers.append(response.json())
    return answers


def workers_that_checked(log: Path) -> set[int]:
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return {line["pid"] for line in lines if line.get("path") == "/api/v1/checks"}


def measures(answers: list[dict[str, object]]) -> set[tuple[str, ...]]:
    return {tuple(m["code"] for m in a["measures"]) for a in answers}  # type: ignore[attr-defined]


def test_two_workers_stop_applying_a_removed_entry_and_a_repaired_record_at_once(
        engine: Engine, tmp_path: Path, served: tuple[str, Path]) -> None:
    url, log = served
    record = serious_penalty(engine, tmp_path, 3)
    entry = listed(engine, 3)
    with writing(engine) as conn:
        token, _ = accounts.create_token(conn, STAFF, "system", "厦门市财政局")
    code = numbered_uscc(3)
    before = look(url, token, "supervision", code)
    assert measures(before) == {("closer_supervision",)}
    with writing(engine) as conn:
        lists.remove(conn, STAFF, entry, TODAY, "已履行", "(2026)闽0203执恢1号")
    after = look(url, token, "supervision", code)
    assert measures(after) == {()}

    procurement = look(url, token, "政府采购", code)
    assert measures(procurement) == {("procurement_ban",)}
    files = []
    for material in ("commitment", "performance"):
        path = tmp_path / f"{material}.pdf"
        path.write_bytes(PDF)
        files.append(repair.Staged(material, path.name, path, "pdf", len(PDF),
                                   hashlib.sha256(PDF).hexdigest()))
    case = repair.apply(engine, audit.Actor("e3", "enterprise", "test"), applicant(code), record,
                        "罚款已缴清",
                        files, TODAY)
    for action in ("accept", "approve"):
        with writing(engine) as conn:
            repair.decide(conn, STAFF, case["case_no"], action, "已履行义务", day=TODAY)
    repaired = look(url, token, "政府采购", code)
    assert measures(repaired) == {()}
    assert all(a["records_marked"] == [] for a in repaired)
    assert len(workers_that_checked(log)) == 2  # both processes answered (and were kept current)
