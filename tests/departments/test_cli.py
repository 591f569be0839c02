"""The registry on the command line: `xinyong departments`, and operators' commands naming a
new department registering it with a notice (real processes, both engines)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine, text

from ..factories import licence, penalty, write_csv
from ..test_cli import xinyong

OCEAN = "厦门市海洋发展局"
TRANSPORT = "厦门市交通运输局"


def test_ingest_registers_a_new_department_with_a_notice_and_checks_its_rows(
        engine: Engine, tmp_path: Path) -> None:
    rows = [penalty(**{"处罚机关": OCEAN, "数据来源单位": OCEAN})]
    path = write_csv(tmp_path / "ocean.csv", rows)
    r = xinyong("ingest", str(path), "--department", OCEAN, "--received", "2025-02-10", "--json",
                check=True)
    assert "已登记为新部门" in r.stderr and json.loads(r.stdout)["new"] == 1
    again = xinyong("ingest", str(path), "--department", TRANSPORT, "--received", "2025-02-10",
                    "--json", check=True)
    receipt = json.loads(again.stdout)
    assert (receipt["accepted"], receipt["rejected"]) == (0, 1)
    assert set(receipt["rejection_reasons"]) == {"other_department:处罚机关",
                                                 "other_department:数据来源单位"}
    listed = json.loads(xinyong("departments", "list", "--json", check=True).stdout)
    assert [d["name"] for d in listed] == sorted([OCEAN, TRANSPORT])
    once_more = xinyong("ingest", str(path), "--department", OCEAN, "--json", check=True)
    assert "已登记为新部门" not in once_more.stderr
    with engine.connect() as conn:
        actions = conn.execute(text("SELECT COUNT(*) FROM audit_event "
                                    "WHERE action = 'department.registered'")).scalar_one()
    assert actions == 2


def test_departments_add_show_and_accounts_naming_a_department(engine: Engine) -> None:
    xinyong("departments", "add", TRANSPORT, "--alias", "市交通局", "--reports-for",
            "厦门市交通运输综合执法支队", check=True)
    shown = json.loads(xinyong("departments", "show", "市交通局", "--json", check=True).stdout)
    assert (shown["name"], shown["reports_for"]) == (TRANSPORT, ["厦门市交通运输综合执法支队"])
    twice = xinyong("departments", "add", "市交通局")
    assert twice.returncode != 0 and "已登记" in (twice.stderr + twice.stdout)
    missing = xinyong("departments", "show", "不存在的局")
    assert missing.returncode != 0
    token = xinyong("token", "create", "--role", "system", "--department", "市交通局", "--json",
                    check=True)
    assert json.loads(token.stdout)["department"] == TRANSPORT  # the alias, resolved
    made = xinyong("token", "create", "--role", "system", "--department", OCEAN, "--json",
                   check=True)
    assert "已登记为新部门" in made.stderr
    user = xinyong("user", "create", "r1", "--role", "reporter", "--department", "厦门市水利局",
                   check=True)
    assert "已登记为新部门" in user.stderr
    names = [d["name"] for d in json.loads(xinyong("departments", "list", "--json").stdout)]
    assert names == sorted([TRANSPORT, OCEAN, "厦门市水利局"])


def test_cli_reupload_is_stale_and_correction_restores(engine: Engine, tmp_path: Path) -> None:
    dept = "厦门市湖里区市场监督管理局"
    old = write_csv(tmp_path / "old.csv", [licence(**{"有效期至": "2028-08-04"})])
    new = write_csv(tmp_path / "new.csv", [licence(**{"有效期至": "2029-08-04"})])
    for path in (old, new):
        xinyong("ingest", str(path), "--department", dept, "--received", "2025-03-05", check=True)
    again = xinyong("ingest", str(old), "--department", dept, "--received", "2025-03-06",
                    check=True)
    assert "过时数据 1 行" in again.stdout.replace("\n", "")
    fixed = json.loads(xinyong("ingest", str(old), "--department", dept, "--received",
                               "2025-03-06", "--correction", "--json", check=True).stdout)
    assert (fixed["corrected"], fixed["stale"], fixed["correction"]) == (1, 0, True)
