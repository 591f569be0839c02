"""Repair verbs: applying with materials (a penalty record, or leaving a list), re-submitting
after a return, and staff decisions. What they read is in `queries`, the files in
`materials`, the 信用修复告知书 in `notice`.

Every change of a case is one transaction with its audit event (`repair.applied`,
`repair.accepted`, `repair.returned`, `repair.resubmitted`, `repair.approved`,
`repair.rejected`). Approval stops publicity from that day (`publicity.service.stop_publicity`,
reason `repaired`), ends list entries resting on the record, and queues an outbound event
`repair.approved` for the upper-level platform, all in the same transaction.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, insert, select, update

from xinyong.accounts.rules import Principal
from xinyong.core import audit
from xinyong.core.dates import add_months, iso
from xinyong.core.db import Db, lock_for_append, transaction, utcnow
from xinyong.core.errors import CoreError, InvalidInput
from xinyong.core.workdays import add_workdays
from xinyong.exchange import service as exchange
from xinyong.lists import service as lists
from xinyong.notifications import service as notifications
from xinyong.publicity import service as publicity
from xinyong.repair import rules
from xinyong.repair.error_codes import RepairError
from xinyong.repair.events import RepairEvent
from xinyong.repair.materials import Staged, case_folder, check_materials, store_files
from xinyong.repair.models import RepairCase
from xinyong.repair.queries import (
    CASE_TYPE,
    LIST_EXIT,
    PENALTY,
    case_ref,
    case_row,
    case_view,
    check_own,
    check_own_entry,
    current_rules,
    entry_eligibility_of,
    entry_state,
    entry_view,
    record_brief,
    refuse_unless_eligible,
    state_of,
)
from xinyong.subjects.models import Record

# --- the applicant's verbs ----------------------------------------------------------------

def _statement(statement: str) -> str:
    statement = statement.strip()
    if not statement:
        raise InvalidInput("请填写申请说明（失信行为的纠正和法定义务的履行情况）",
                           code=RepairError.STATEMENT_REQUIRED)
    return statement


def _store_application(conn: Connection, actor: audit.Actor, case_no: str, subject_id: int,
                       day: date, due: date | None, statement: str, files: Sequence[Staged],
                       what: dict[str, Any], detail: dict[str, Any]) -> None:
    """Store a new application (`what`: the record or entry it is about, and its kind) with its
    materials, audited as `repair.applied`."""
    result = conn.execute(insert(RepairCase).values(
        case_no=case_no, subject_id=subject_id, status="submitted", statement=statement[:5000],
        applicant=actor.name[:128], applied_at=utcnow().replace(microsecond=0), applied_on=day,
        step_since=day, due_on=due, rounds=1, **what))
    pk = result.inserted_primary_key
    assert pk is not None
    store_files(conn, int(pk[0]), case_no, subject_id, files, 1)
    audit.record(conn, actor, RepairEvent.APPLIED, "repair_case", case_no, subject_id=subject_id,
                 detail={**detail, "materials": [f.material for f in files], "due_on": iso(due)})
    _tell(conn, case_no, RepairEvent.APPLIED, day)


def apply(db: Db, actor: audit.Actor, principal: Principal, record_id: int,
          statement: str, files: Sequence[Staged], day: date) -> dict[str, Any]:
    """File an application for the subject's own record. Refused (nothing stored) unless the
    record is the principal's subject's, eligible on `day`, and every required material is
    there."""
    repair_rules = current_rules()
    statement = _statement(statement)
    case_no = rules.new_case_no(day)
    try:
        with transaction(db) as conn:
            # one application at a time per record, so two at once cannot both find none open
            lock_for_append(conn, f"repair_case:{record_id}")
            brief = record_brief(conn, record_id)
            check_own(brief, principal.subject)
            refuse_unless_eligible(rules.eligibility(repair_rules, state_of(conn, brief, day), day))
            check_materials(repair_rules, files, first=True)
            due = rules.due_on(repair_rules, "submitted", day, add_workdays)
            _store_application(conn, actor, case_no, brief["subject_id"], day, due, statement, files,
                               {"record_id": record_id, "kind": PENALTY}, {"record": record_id})
            return case_view(conn, case_no, day)
    except BaseException:
        shutil.rmtree(case_folder(case_no), ignore_errors=True)
        raise


def apply_entry(db: Db, actor: audit.Actor, principal: Principal, ref: str,
                statement: str, files: Sequence[Staged], day: date) -> dict[str, Any]:
    """Apply to leave a list early: refused (nothing stored) unless the entry is the
    principal's subject's, eligible on `day`, and the kind's required materials are there."""
    repair_rules = current_rules()
    statement = _statement(statement)
    case_no = rules.new_case_no(day)
    try:
        with transaction(db) as conn:
            brief = lists.entry_brief(conn, ref)
            # one application at a time per entry, so two at once cannot both find none open
            lock_for_append(conn, f"repair_case:{brief['ref']}")
            check_own_entry(brief, principal.subject)
            refuse_unless_eligible(rules.entry_eligibility(
                repair_rules, entry_state(conn, brief, day), day, add_months))
            check_materials(rules.list_exit_materials(repair_rules, brief["kind_code"]), files,
                            first=True)
            due = rules.due_on(repair_rules, "submitted", day, add_workdays)
            _store_application(conn, actor, case_no, brief["subject_id"], day, due, statement, files,
                               {"record_id": brief["record_id"] if brief["source"] == "data" else None,
                                "entry_id": brief["entry_id"], "kind": LIST_EXIT},
                               {"entry": brief["ref"], "kind": LIST_EXIT})
            return case_view(conn, case_no, day)
    except BaseException:
        shutil.rmtree(case_folder(case_no), ignore_errors=True)
        raise


def resubmit(db: Db, actor: audit.Actor, principal: Principal, case_no: str,
             statement: str, files: Sequence[Staged], day: date) -> dict[str, Any]:
    """The subject completes a returned application (补正): back to staff, a new deadline."""
    repair_rules = current_rules()
    moved: list[Path] = []
    try:
        with transaction(db) as conn:
            case = case_row(conn, case_no)
            if case["kind"] == LIST_EXIT:
                brief = lists.entry_brief(conn, case_ref(case))
                check_own_entry(brief, principal.subject)
                rules.next_status(case["status"], "resubmit")
                check_materials(rules.list_exit_materials(repair_rules, brief["kind_code"]), files,
                                first=False)
            else:
                check_own(record_brief(conn, case["record_id"]), principal.subject)
                rules.next_status(case["status"], "resubmit")
                check_materials(repair_rules, files, first=False)
            round_no = case["rounds"] + 1
            moved = [case_folder(case_no) / f"{round_no}-{f.material}-{i}.{f.file_type}"
                     for i, f in enumerate(files, 1)]
            _move(conn, case, "resubmit", day, repair_rules, rounds=round_no,
                  statement=(case["statement"] + "\n\n【补正说明】" + statement.strip())[:10000]
                  if statement.strip() else case["statement"])
            store_files(conn, case["id"], case_no, case["subject_id"], files, round_no)
            audit.record(conn, actor, RepairEvent.RESUBMITTED, "repair_case", case_no,
                         subject_id=case["subject_id"],
                         detail={"round": round_no, "materials": [f.material for f in files]})
            _tell(conn, case_no, RepairEvent.RESUBMITTED, day)
            return case_view(conn, case_no, day)
    except BaseException:
        for path in moved:
            path.unlink(missing_ok=True)
        raise


# --- staff's verbs ------------------------------------------------------------------------

def _move(conn: Connection, case: dict[str, Any], action: str, day: date,
          repair_rules: rules.RepairRules, **values: Any) -> str:
    """Move the case on, only if nobody moved it meanwhile (the status is part of the
    condition, so of two concurrent decisions the second changes nothing and is refused)."""
    status = rules.next_status(case["status"], action)
    t = RepairCase.__table__
    changed = conn.execute(
        update(RepairCase).where(t.c.id == case["id"], t.c.status == case["status"])
        .values(status=status, step_since=day,
                due_on=rules.due_on(repair_rules, status, day, add_workdays), **values)).rowcount
    if changed != 1:
        raise InvalidInput(f"案件 {case['case_no']} 已被他人处理，请刷新后查看",
                           code=CoreError.ILLEGAL_TRANSITION)
    return status


# A decision's action → the event it is audited and notified as.
_PAST = {"accept": RepairEvent.ACCEPTED, "return": RepairEvent.RETURNED,
         "approve": RepairEvent.APPROVED, "reject": RepairEvent.REJECTED}


def decide(db: Db, actor: audit.Actor, case_no: str, action: str, reason: str,
           missing: Sequence[str] = (), day: date | None = None) -> dict[str, Any]:
    """accept | return (with what is missing) | approve | reject, with the reason. Illegal
    transitions and approving a record that is no longer eligible change nothing."""
    day = day or date.today()
    repair_rules = current_rules()
    with transaction(db) as conn:
        case = case_row(conn, case_no)
        if action == "resubmit":
            raise InvalidInput("补正材料由申请人提交", code=CoreError.ILLEGAL_TRANSITION)
        rules.next_status(case["status"], action)
        reason = (reason or "").strip()
        missing = [m.strip() for m in missing if m and m.strip()]
        if action == "return" and not missing:
            raise InvalidInput("退回补正须写明需补充或更正的材料", code=RepairError.MISSING_REQUIRED)
        if action in ("approve", "reject") and not reason:
            raise InvalidInput(f"{rules.ACTIONS[action]}须写明理由", code=CoreError.REASON_REQUIRED)
        detail: dict[str, Any] = {"reason": reason, "record": case["record_id"]}
        if case["kind"] == LIST_EXIT:
            detail["entry"] = case_ref(case)
        values: dict[str, Any] = {"reason": reason[:5000] or None}
        if action == "accept":
            values["accepted_on"] = day
        elif action == "return":
            values["missing"] = orjson.dumps(missing).decode()
            detail["missing"] = missing
        else:
            values.update(decided_on=day, decided_by=actor.name[:128])
        if action == "approve" and case["kind"] == LIST_EXIT:
            return _approve_exit(conn, actor, case, reason, day, repair_rules, values, detail)
        if action == "approve":
            brief = record_brief(conn, case["record_id"])
            refuse_unless_eligible(rules.eligibility(
                repair_rules, state_of(conn, brief, day, excluding=case_no), day))
        _move(conn, case, action, day, repair_rules, **values)
        if action == "approve":
            detail["stop"] = publicity.stop_publicity(conn, actor, case["record_id"], "repaired", day,
                                                      CASE_TYPE, case_no)
            # C7: list entries resting on the record end with it
            detail["list_entries_ended"] = lists.end_for_record(conn, actor, case["record_id"], day,
                                                                case_no)
            detail["outbound_event"] = exchange.emit(conn, RepairEvent.APPROVED, case["subject_id"], {
                "case_no": case_no, "record": case["record_id"], "doc_no": brief["doc_no"],
                "department": brief["department"], "uscc": brief["uscc"],
                "decided_on": day.isoformat(), "publicity_stopped_since": day.isoformat(),
                "reason": reason})
        audit.record(conn, actor, _PAST[action], "repair_case", case_no,
                     subject_id=case["subject_id"], detail=detail)
        _tell(conn, case_no, _PAST[action], day, reason=reason, missing="、".join(missing))
        return case_view(conn, case_no, day)


def _tell(conn: Connection, case_no: str, event: RepairEvent, day: date, **facts: Any) -> None:
    """Notify the case's subject of the change just made (same transaction), with what the
    case is about and its next deadline."""
    case = case_row(conn, case_no)
    if case["kind"] == LIST_EXIT:
        about = f"移出{lists.entry_brief(conn, case_ref(case))['kind_name']}"
    else:
        r = Record.__table__
        doc_no = conn.execute(select(r.c.doc_no).where(r.c.id == case["record_id"])).scalar()
        about = f"文书号 {doc_no}"
    notifications.notify(conn, case["subject_id"], event, "repair", case_no, f"/repairs/{case_no}",
                         about=about, due_on=iso(case["due_on"]) or "—", day=day.isoformat(),
                         **facts)


def _approve_exit(conn: Connection, actor: audit.Actor, case: dict[str, Any], reason: str, day: date,
                  repair_rules: rules.RepairRules, values: dict[str, Any],
                  detail: dict[str, Any]) -> dict[str, Any]:
    """Approve a list-exit case: re-check eligibility (as if this case were not open), then in
    the same transaction end the entry that day (`lists.service.end_for_repair`: a workflow
    entry ends, a data entry leaves publicity as repaired) and queue `repair.approved`."""
    case_no = case["case_no"]
    ref = case_ref(case)
    brief = lists.entry_brief(conn, ref)
    refuse_unless_eligible(entry_eligibility_of(conn, brief, day, excluding=case_no))
    _move(conn, case, "approve", day, repair_rules, **values)
    lists.end_for_repair(conn, actor, ref, day, case_no)
    entry = entry_view(brief)
    detail["outbound_event"] = exchange.emit(conn, RepairEvent.APPROVED, case["subject_id"], {
        "case_no": case_no, "kind": LIST_EXIT, "entry": entry, "uscc": brief["uscc"],
        "decided_on": day.isoformat(), "list_exit_since": day.isoformat(), "reason": reason})
    audit.record(conn, actor, RepairEvent.APPROVED, "repair_case", case_no,
                 subject_id=case["subject_id"], detail=detail)
    _tell(conn, case_no, RepairEvent.APPROVED, day, reason=reason)
    return case_view(conn, case_no, day)
