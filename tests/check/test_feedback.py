"""Check feedback on both engines: a report per measure is stored and audited; refusals (another
department's check, a measure the check did not return, a second report, a missing reason, an
unknown check); a check still without feedback N working days after its day is overdue — counted
on the official calendar across the National Day holiday, in China Standard Time, N overridable
by a locality; and the per-department statistics."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, insert, select

from xinyong.accounts.rules import Forbidden, Principal, role_table
from xinyong.check import feedback, service
from xinyong.check.models import CheckFeedback, CheckLog
from xinyong.core.audit import AuditEvent
from xinyong.core.db import ensure_schema, make_engine, writing
from xinyong.core.errors import InvalidInput, NotFound, RuleDataError
from xinyong.core.settings import get_settings

from ..factories import numbered_uscc
from ..test_cli import xinyong
from .test_service import CALLER, listed, serious_penalty

FINANCE = CALLER.department
OTHER = "厦门市住房和建设局"


def principal(role: str, department: str | None, name: str = "token:xy_test") -> Principal:
    return Principal(name, role, department, role_table().role(role).permissions,
                     kind="token" if name.startswith("token:") else "account")


SYSTEM = principal("system", FINANCE)
STAFF = principal("staff", None, "staff1")


def checked(engine: Engine, tmp_path: Path, n: int = 1, matter: str = "licensing") -> dict[str, object]:
    """Subject n on the court defaulter list, checked for licensing by the finance system:
    closer supervision is not for licensing, so the one measure is no_notify_commitment."""
    serious_penalty(engine, tmp_path, n)
    listed(engine, n)
    answer = service.check(engine, CALLER, matter, uscc=numbered_uscc(n))
    assert [m["code"] for m in answer["measures"]] == ["no_notify_commitment"]
    return answer


def log_row(engine: Engine, check_id: str, at: datetime, measures: list[str],
            department: str | None = FINANCE) -> None:
    """A check logged at `at` (naive UTC), as the log writer stores it."""
    with writing(engine) as conn:
        conn.execute(insert(CheckLog), [{
            "check_id": check_id, "batch_id": None, "at": at, "caller": "token:xy_test", "role": "system",
            "department": department, "system": "xy_test", "matter": "licensing", "query_type": "uscc",
            "query": numbered_uscc(1), "subject_id": None,
            "result": orjson.dumps({"lists": [], "measures": measures, "records_marked": [],
                                    "candidates": 0}).decode()}])


def test_report_is_stored_audited_and_shown_with_the_check(engine: Engine, tmp_path: Path) -> None:
    answer = checked(engine, tmp_path)
    check_id = str(answer["check_id"])
    # reported at once: the log row may still be queued; the report waits for it
    summary = feedback.report(engine, SYSTEM, check_id, [
        {"measure": "no_notify_commitment", "outcome": "applied",
         "result": "已按一般程序受理，未适用告知承诺"}])
    assert summary["check_id"] == check_id and summary["department"] == FINANCE
    assert summary["measures"] == [{"code": "no_notify_commitment", "name": "不适用告知承诺制（信用修复前）"}]
    (given,) = summary["feedback"]
    assert given["outcome"] == "applied" and given["outcome_name"] == "已应用"
    assert given["result"] == "已按一般程序受理，未适用告知承诺" and given["department"] == FINANCE
    assert summary["feedback_status"]["status"] == "complete" and summary["feedback_status"]["pending"] == []
    assert summary["subject"] == {"uscc": numbered_uscc(1), "name": "厦门市思明区第1测试贸易有限公司"}
    with engine.connect() as conn:
        rows = conn.execute(select(CheckFeedback.__table__)).all()
        event = conn.execute(select(AuditEvent.__table__).where(AuditEvent.action == "check.feedback")).one()
    assert [(r.check_id, r.measure, r.outcome, r.reported_by) for r in rows] == [
        (check_id, "no_notify_commitment", "applied", "token:xy_test")]
    assert event.object_id == check_id and event.subject_id is None
    assert orjson.loads(event.detail)["measures"] == {"no_notify_commitment": "applied"}
    # staff read it too; the same department's other system as well
    assert feedback.summary(engine, STAFF, check_id)["feedback"][0]["measure"] == "no_notify_commitment"
    assert feedback.summary(engine, principal("system", FINANCE, "token:xy_other"), check_id)


def test_refusals(engine: Engine, tmp_path: Path) -> None:
    check_id = str(checked(engine, tmp_path)["check_id"])
    with pytest.raises(NotFound) as unknown:
        feedback.report(engine, SYSTEM, "HC" + "0" * 24, [{"measure": "x", "outcome": "applied"}])
    assert unknown.value.code == "unknown_check"
    with pytest.raises(Forbidden) as other:
        feedback.report(engine, principal("system", OTHER), check_id,
                        [{"measure": "no_notify_commitment", "outcome": "applied"}])
    assert other.value.code == "not_your_check"
    with pytest.raises(Forbidden):
        feedback.summary(engine, principal("system", OTHER), check_id)
    cases = [
        ([{"measure": "bidding_ban", "outcome": "applied"}], "measure_not_in_check"),
        ([{"measure": "no_notify_commitment", "outcome": "not_applied"}], "reason_required"),
        ([{"measure": "no_notify_commitment", "outcome": "not_applied", "reason": "  "}], "reason_required"),
        ([{"measure": "no_notify_commitment", "outcome": "done"}], "unknown_outcome"),
        ([], "empty_feedback"),
        ([{"measure": "no_notify_commitment", "outcome": "applied"}] * 2, "duplicate_measure"),
        ([{"outcome": "applied"}], "missing_measure"),
    ]
    for items, code in cases:
        with pytest.raises(InvalidInput) as bad:
            feedback.report(engine, SYSTEM, check_id, items)
        assert bad.value.code == code, items
    feedback.report(engine, SYSTEM, check_id, [
        {"measure": "no_notify_commitment", "outcome": "not_applied", "reason": "该事项不实行告知承诺制"}])
    with pytest.raises(InvalidInput) as twice:  # append-only: no second word, even from staff
        feedback.report(engine, STAFF, check_id, [{"measure": "no_notify_commitment", "outcome": "applied"}])
    assert twice.value.code == "feedback_exists"
    with engine.connect() as conn:
        assert [r.outcome for r in conn.execute(select(CheckFeedback.__table__))] == ["not_applied"]


def test_a_check_without_department_is_the_callers_own(engine: Engine) -> None:
    log_row(engine, "HC" + "a" * 24, datetime(2026, 3, 2, 2), ["closer_supervision"], department=None)
    with pytest.raises(Forbidden):
        feedback.summary(engine, principal("system", FINANCE, "token:xy_other"), "HC" + "a" * 24)
    assert feedback.summary(engine, principal("system", FINANCE), "HC" + "a" * 24)["department"] is None


def test_overdue_by_working_days_across_national_day(engine: Engine) -> None:
    # 2025-09-30 (Tue), 5 working days: 10-01..10-08 are holidays, 10-11 (Sat) a make-up working
    # day → 10-09, 10-10, 10-11, 10-13, 10-14: due on 10-14, overdue from 10-15.
    assert feedback.due_on(date(2025, 9, 30), 5) == date(2025, 10, 14)
    # 2025-09-29 16:30 UTC is 09-30 00:30 in Xiamen
    log_row(engine, "HC" + "1" * 24, datetime(2025, 9, 29, 16, 30), ["no_notify_commitment"])
    log_row(engine, "HC" + "2" * 24, datetime(2025, 10, 9, 1), ["no_notify_commitment"])  # due 10-15
    log_row(engine, "HC" + "3" * 24, datetime(2025, 9, 30, 1), [])  # nothing to report on
    on = {d: feedback.stats(engine, STAFF, since=date(2025, 9, 1), until=date(2025, 10, 31),
                            today=date(2025, 10, d)) for d in (14, 15, 16)}
    assert [on[d]["departments"][0]["overdue"] for d in (14, 15, 16)] == [0, 1, 2]
    first = feedback.summary(engine, SYSTEM, "HC" + "1" * 24, today=date(2025, 10, 15))
    assert first["day"] == "2025-09-30" and first["feedback_status"]["due_on"] == "2025-10-14"
    assert first["feedback_status"]["status"] == "overdue" and first["feedback_status"]["overdue"]
    assert feedback.summary(engine, SYSTEM, "HC" + "3" * 24, today=date(2025, 10, 15))[
        "feedback_status"]["status"] == "none_needed"
    # feedback given late still ends the flag
    feedback.report(engine, SYSTEM, "HC" + "1" * 24,
                    [{"measure": "no_notify_commitment", "outcome": "not_relevant"}])
    assert feedback.stats(engine, STAFF, since=date(2025, 9, 1), until=date(2025, 10, 31),
                          today=date(2025, 10, 16))["departments"][0]["overdue"] == 1


def test_due_days_are_locality_data(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert feedback.due_working_days() == 5
    local = tmp_path / "local"
    local.mkdir()
    (local / "feedback.yaml").write_text("due_working_days: 2\n", "utf-8")
    monkeypatch.setenv("XINYONG_DATA_DIR", str(local))
    get_settings.cache_clear()
    assert feedback.due_working_days() == 2
    log_row(engine, "HC" + "4" * 24, datetime(2025, 9, 30, 1), ["no_notify_commitment"])  # due 10-10
    assert feedback.summary(engine, SYSTEM, "HC" + "4" * 24, today=date(2025, 10, 11))[
        "feedback_status"]["status"] == "overdue"
    (local / "feedback.yaml").write_text("due_working_days: zero\n", "utf-8")
    with pytest.raises(RuleDataError):
        feedback.due_working_days()
    (local / "feedback.yaml").write_text("due_days: 3\n", "utf-8")
    with pytest.raises(RuleDataError):
        feedback.due_working_days()


def test_stats_per_department_and_scope(engine: Engine) -> None:
    day = datetime(2026, 3, 2, 2)  # a Monday
    log_row(engine, "HC" + "5" * 24, day, ["no_notify_commitment", "tax_a_green_channel"])
    log_row(engine, "HC" + "6" * 24, day, ["no_notify_commitment"])
    log_row(engine, "HC" + "7" * 24, day, [])
    log_row(engine, "HC" + "8" * 24, day, ["closer_supervision"], department=OTHER)
    log_row(engine, "HC" + "9" * 24, datetime(2026, 1, 5, 2), ["closer_supervision"])  # before the period
    feedback.report(engine, SYSTEM, "HC" + "5" * 24, [
        {"measure": "no_notify_commitment", "outcome": "applied"},
        {"measure": "tax_a_green_channel", "outcome": "not_applied", "reason": "申请人未申请容缺受理"}])
    period = {"since": date(2026, 3, 1), "until": date(2026, 3, 31), "today": date(2026, 3, 20)}
    view = feedback.stats(engine, STAFF, **period)  # type: ignore[arg-type]
    by = {d["department"]: d for d in view["departments"]}
    assert set(by) == {FINANCE, OTHER} and view["due_working_days"] == 5
    fin = by[FINANCE]
    assert (fin["checks"], fin["checks_with_measures"], fin["measures_returned"], fin["feedback_given"],
            fin["checks_with_feedback"], fin["overdue"]) == (3, 2, 3, 2, 1, 1)
    assert fin["outcomes"] == {"applied": 1, "not_applied": 1, "not_relevant": 0}
    assert fin["feedback_rate"] == round(2 / 3, 4)
    assert (by[OTHER]["checks"], by[OTHER]["feedback_rate"], by[OTHER]["overdue"]) == (1, 0.0, 1)
    assert view["total"]["checks"] == 4 and view["total"]["measures_returned"] == 4
    assert view["total"]["feedback_rate"] == 0.5
    # a department-bound caller sees only its own, and may not ask for another's
    own = feedback.stats(engine, SYSTEM, **period)  # type: ignore[arg-type]
    assert [d["department"] for d in own["departments"]] == [FINANCE] and own["department"] == FINANCE
    with pytest.raises(Forbidden) as other:
        feedback.stats(engine, SYSTEM, department=OTHER, **period)
    assert other.value.code == "other_department"
    only = feedback.stats(engine, STAFF, department=OTHER, **period)
    assert [d["department"] for d in only["departments"]] == [OTHER]
    with pytest.raises(InvalidInput):
        feedback.stats(engine, STAFF, since=date(2026, 4, 1), until=date(2026, 3, 1))


def test_cli_feedback_and_stats(tmp_path: Path) -> None:
    engine = make_engine()  # the store the CLI subprocess uses (this test's SQLite file)
    ensure_schema(engine)
    try:
        serious_penalty(engine, tmp_path, 3)
        listed(engine, 3)
    finally:
        engine.dispose()
    answer = json.loads(xinyong("check", numbered_uscc(3), "--matter", "行政许可", "--department", OTHER,
                                "--json", check=True).stdout)
    check_id = answer["check_id"]
    bad = xinyong("check", "feedback", check_id, "--measure", "no_notify_commitment",
                  "--outcome", "not_applied")
    assert bad.returncode != 0 and "须说明原因" in bad.stderr and "Traceback" not in bad.stderr
    stranger = xinyong("check", "feedback", check_id, "--measure", "bidding_ban", "--outcome", "applied")
    assert stranger.returncode != 0 and "未返回措施" in stranger.stderr
    done = json.loads(xinyong("check", "feedback", check_id, "--measure", "no_notify_commitment",
                              "--outcome", "not_applied", "--reason", "窗口按一般程序办理", "--json",
                              check=True).stdout)
    assert done["feedback"][0]["reason"] == "窗口按一般程序办理" and done["department"] == OTHER
    view = json.loads(xinyong("check", "stats", "--json", check=True).stdout)
    assert [(d["department"], d["checks"], d["feedback_rate"])
            for d in view["departments"]] == [(OTHER, 1, 1.0)]
    assert "核查反馈统计" in xinyong("check", "stats", check=True).stdout
    assert xinyong("check", "stats", "--since", "yesterday").returncode == 2
