"""The `xinyong` command as a person or a script uses it: real processes, real files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from .factories import numbered_uscc, penalty, write_csv


def xinyong(*args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "xinyong", *args], capture_output=True,
                            text=True, env=os.environ.copy(), timeout=120)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_uscc_check_json_in_input_order_and_exit_status() -> None:
    good, bad = numbered_uscc(1), "91350100M000100Y44"
    r = xinyong("uscc", "check", good, bad, "--json")
    assert r.returncode == 1
    out = json.loads(r.stdout)
    assert [o["code"] for o in out] == [good, bad]
    assert [o["valid"] for o in out] == [True, False]
    assert out[0]["errors"] == []
    assert out[1]["errors"][0]["code"] == "check_character"
    ok = xinyong("uscc", "check", good, "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)[0]["valid"] is True


def test_ingest_then_show_quality_and_issues(engine: Engine, tmp_path: Path) -> None:
    rows = [penalty(), penalty(**{"行政处罚决定书文号": "坏1", "处罚决定日期": "2025-02-30"})]
    path = write_csv(tmp_path / "p.csv", rows)
    r = xinyong("ingest", str(path), "--department", "厦门市思明区市场监督管理局", "--received", "2025-02-10",
                "--json", check=True)
    receipt = json.loads(r.stdout)
    for key in ("rows", "accepted", "rejected", "new", "corrected", "unchanged", "on_time",
                "late", "error_report"):
        assert key in receipt
    assert (receipt["rows"], receipt["accepted"], receipt["rejected"]) == (2, 1, 1)
    assert Path(receipt["error_report"]).exists()

    shown = json.loads(xinyong("subject", "show", numbered_uscc(1), "--json", check=True).stdout)
    assert set(shown) == {"subject", "records", "evaluation"}  # evaluation: issue 6
    record = shown["records"][0]
    for key in ("id", "kind", "doc_no", "decision_date", "department", "version", "status"):
        assert key in record
    assert record["kind"] == "penalty" and record["version"] == 1

    quality = json.loads(xinyong("quality", "--json", check=True).stdout)
    assert quality[0]["compliance_rate"] == 0.5
    issues = json.loads(xinyong("uscc", "issues", "--json", check=True).stdout)
    assert {"issues", "rate", "codes"} <= set(issues)

    human = xinyong("ingest", str(path), "-d", "厦门市思明区市场监督管理局", "--received",
                    "2025-02-10", check=True)
    assert "归集回执" in human.stdout and "未变" in human.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["ingest", "{missing}", "-d", "部门"], "无法读取文件"),
    (["ingest", "{empty}", "-d", "部门"], "为空"),
    (["ingest", "{good}", "-d", "部门", "--kind", "nonsense"], "未知的信息类别"),
    (["ingest", "{good}", "-d", "部门", "--received", "2025/02/10"], "YYYY-MM-DD"),
    (["ingest", "{good}", "-d", "  "], "报送部门"),
    (["subject", "show", "91350100M000100Y43"], "没有统一社会信用代码"),
    (["subject", "show", "123"], "18位"),
    (["quality", "--month", "2025-2"], "YYYY-MM"),
])
def test_bad_input_gives_one_clear_line_and_no_traceback(tmp_path: Path, args: list[str],
                                                         message: str) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    write_csv(tmp_path / "good.csv", [penalty()])
    files = {"missing": str(tmp_path / "nope.csv"), "empty": str(tmp_path / "empty.csv"),
             "good": str(tmp_path / "good.csv")}
    r = xinyong(*[a.format(**files) for a in args])
    assert r.returncode == 2, r.stdout
    assert message in r.stderr
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_killed_ingest_leaves_no_half_batch(tmp_path: Path) -> None:
    """A process killed in the middle of a batch (power cut, OOM killer) commits nothing."""
    rows = [penalty(**{"行政处罚决定书文号": f"罚〔2025〕{i}号",
                       "行政相对人代码_1(统一社会信用代码)": numbered_uscc(i % 5000)})
            for i in range(60_000)]
    path = write_csv(tmp_path / "big.csv", rows)
    env = {**os.environ, "XINYONG_INGEST_CHUNK_ROWS": "1000"}
    xinyong("db", "upgrade", check=True)
    db = Path(os.environ["XINYONG_DATABASE_URL"].removeprefix("sqlite:///"))
    # the department the rows name as deciding body (rows naming another are returned)
    department = penalty()["处罚机关"]
    proc = subprocess.Popen([sys.executable, "-m", "xinyong", "ingest", str(path), "-d", department,
                             "--received", "2025-02-10"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wal = Path(str(db) + "-wal")
    deadline = time.monotonic() + 60
    # Wait until the batch is well under way: its writes are landing in the WAL.
    while time.monotonic() < deadline and (not wal.exists() or wal.stat().st_size < 2_000_000):
        assert proc.poll() is None, "ingest finished before it could be interrupted"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    from xinyong.core.db import make_engine

    eng = make_engine(os.environ["XINYONG_DATABASE_URL"])
    with eng.connect() as conn:
        for table in ("batch", "record", "subject", "rejection"):
            assert conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one() == 0
    eng.dispose()
    again = json.loads(xinyong("ingest", str(path), "-d", department, "--received", "2025-02-10",
                               "--json", check=True).stdout)
    assert again["new"] == 60_000
    # nothing of the killed batch in the batches folder, and its id was not given again
    files = Path(os.environ["XINYONG_FILES_DIR"])
    assert [p.name for p in (files / "batches").iterdir()] == [str(again["batch"])]
    assert again["batch"] == 2


def test_every_command_documents_itself() -> None:
    for args in (["--help"], ["ingest", "--help"], ["uscc", "check", "--help"],
                 ["uscc", "issues", "--help"], ["subject", "show", "--help"],
                 ["quality", "--help"], ["demo", "--help"], ["catalog", "list", "--help"],
                 ["db", "upgrade", "--help"]):
        r = xinyong(*args, check=True)
        assert "Usage" in r.stdout


def test_an_unreachable_database_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XINYONG_DATABASE_URL", "postgresql://reader:secret@127.0.0.1:1/none")
    r = xinyong("quality")
    assert r.returncode == 3
    assert "数据库错误" in r.stderr and "Traceback" not in r.stderr
    assert "secret" not in r.stderr
