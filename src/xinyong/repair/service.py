"""Repair verbs: the rules in force, a record's eligibility, applying with materials,
re-submitting after a return, staff decisions, the queue, a case, and the 信用修复告知书.

Every change of a case is one transaction with its audit event (`repair.applied`,
`repair.accepted`, `repair.returned`, `repair.resubmitted`, `repair.approved`,
`repair.rejected`). Approval stops publicity from that day (`publicity.service.stop_publicity`,
reason `repaired`), ends list entries resting on the record, and queues an outbound event
`repair.approved` for the upper-level platform, all in the same transaction.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, bindparam, func, insert, select, update

from xinyong.accounts.rules import Forbidden
from xinyong.core import audit
from xinyong.core.audit import AuditEvent
from xinyong.core.dates import add_months
from xinyong.core.db import lock_for_append, utcnow, writing
from xinyong.core.errors import InvalidInput, NotFound
from xinyong.core.masking import mask_person_name
from xinyong.core.ruledata import UntilChanged, rule_paths
from xinyong.core.settings import get_settings
from xinyong.core.workdays import add_workdays
from xinyong.exchange import service as exchange
from xinyong.lists import service as lists
from xinyong.lists.models import ListEntry
from xinyong.notifications import service as notifications
from xinyong.publicity import service as publicity
from xinyong.repair import rules
from xinyong.repair.models import RepairCase, RepairMaterial
from xinyong.subjects.models import Record, Subject

CASE_TYPE = "repair"
PENALTY, LIST_EXIT = "penalty", "list_exit"  # repair_case.kind


# --- rules --------------------------------------------------------------------------------

def rules_paths(data_dir: Path | None = None) -> list[Path]:
    """The national defaults shipped with the package, then the locality's own
    `$XINYONG_DATA_DIR/repair.yaml` if there is one."""
    return rule_paths(rules.FILE, data_dir)


_loaded = UntilChanged(rules.load)


def current_rules() -> rules.RepairRules:
    """The repair rules in force (a RuleDataError names file, entry and reason). Remembered
    until a rules file changes."""
    return _loaded.get(rules_paths())


# --- records and eligibility --------------------------------------------------------------

def _iso(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


def record_brief(conn: Connection, record_id: int) -> dict[str, Any]:
    """The record's facts a repair needs, with its subject; NotFound if there is none."""
    r, s = Record.__table__, Subject.__table__
    row = conn.execute(
        select(r.c.id, r.c.item_code, r.c.status, r.c.doc_no, r.c.department, r.c.decision_date,
               r.c.publicity_tier, r.c.published, r.c.publicity_start, r.c.publicity_repair_from,
               r.c.publicity_end, r.c.publicity_regime, r.c.subject_id,
               s.c.uscc, s.c.name, s.c.kind)
        .join(s, s.c.id == r.c.subject_id).where(r.c.id == record_id)).mappings().first()
    if row is None:
        raise NotFound(f"没有编号为 {record_id} 的信用记录", code="record_not_found")
    return dict(row)


def check_visible(brief: dict[str, Any], subject_uscc: str | None, full: bool) -> None:
    """Records that are not published never reach the public: only their own subject and
    staff who may read everything learn they exist."""
    if not (brief["published"] or full or (subject_uscc and subject_uscc == brief["uscc"])):
        raise NotFound(f"没有编号为 {brief['id']} 的公示信用记录", code="record_not_found")


def check_own(brief: dict[str, Any], subject_uscc: str | None) -> None:
    if not subject_uscc or subject_uscc != brief["uscc"]:
        raise Forbidden(f"只能为本主体（{subject_uscc or '未绑定主体'}）的信用记录申请信用修复",
                        code="not_own_subject")


def _open_case(conn: Connection, record_id: int, excluding: str | None = None) -> str | None:
    t = RepairCase.__table__
    query = select(t.c.case_no).where(t.c.record_id == record_id, t.c.status.in_(rules.OPEN_STATUSES))
    if excluding is not None:
        query = query.where(t.c.case_no != excluding)
    return conn.execute(query.limit(1)).scalar_one_or_none()


def state_of(conn: Connection, brief: dict[str, Any], day: date,
             excluding: str | None = None) -> rules.RecordState:
    stops = publicity.stops(conn, [brief["id"]]).get(brief["id"], [])
    today = day.isoformat()  # stops() gives ISO dates, which compare as the days do
    in_force = tuple((s["reason"], date.fromisoformat(s["since"])) for s in stops
                     if s["since"] <= today and (s["until"] is None or s["until"] > today))
    repaired = [date.fromisoformat(s["since"]) for s in stops if s["reason"] == "repaired"]
    return rules.RecordState(
        record=brief["id"], item_code=brief["item_code"], status=brief["status"],
        tier=brief["publicity_tier"], published=bool(brief["published"]),
        start=brief["publicity_start"], repair_from=brief["publicity_repair_from"],
        end=brief["publicity_end"], regime=brief["publicity_regime"], stops=in_force,
        repaired_on=min(repaired) if repaired else None,
        open_case=_open_case(conn, brief["id"], excluding))


def eligibility(conn: Connection, record_id: int, day: date,
                excluding: str | None = None) -> rules.Eligibility:
    """May the record's subject apply for repair on `day`, and why. `excluding`: judge it as
    if that case (the one being decided) were not open."""
    return eligibility_of(conn, record_brief(conn, record_id), day, excluding)


def eligibility_of(conn: Connection, brief: dict[str, Any], day: date,
                   excluding: str | None = None) -> rules.Eligibility:
    """`eligibility` of a record already read with `record_brief`."""
    return rules.eligibility(current_rules(), state_of(conn, brief, day, excluding), day)


def refuse_unless_eligible(found: rules.Eligibility | rules.EntryEligibility) -> None:
    if not found.eligible:
        raise InvalidInput("不符合信用修复申请条件：" + "；".join(found.reasons), code="not_eligible")


# --- leaving a list (移出严重失信主体名单) ------------------------------------------------------

def case_ref(case: Any) -> str:
    """The list entry a list-exit case is about (`L<entry id>` or `R<record id>`)."""
    return f"L{case['entry_id']}" if case["entry_id"] is not None else f"R{case['record_id']}"


def _kind_name(kind: str) -> str:
    repair_rules = current_rules()
    if kind == LIST_EXIT and repair_rules.list_exit is not None:
        return repair_rules.list_exit.name
    return repair_rules.kind_name


def all_materials(repair_rules: rules.RepairRules) -> tuple[rules.Material, ...]:
    """Every material code any kind of application may carry (for names and upload checks)."""
    found = {m.code: m for m in repair_rules.materials}
    if repair_rules.list_exit is not None:
        for m in repair_rules.list_exit.materials:
            found.setdefault(m.code, m)
        for extra in repair_rules.list_exit.kind_materials.values():
            for m in extra:
                found.setdefault(m.code, m)
    return tuple(found.values())


def list_exit_materials(repair_rules: rules.RepairRules, brief: dict[str, Any]) -> tuple[rules.Material, ...]:
    """The materials of an application to leave this entry's list (common + the kind's own)."""
    if repair_rules.list_exit is None:
        return ()
    return repair_rules.list_exit.materials_for(brief["kind_code"])


def _entry_subject(brief: dict[str, Any]) -> dict[str, Any]:
    return {"uscc": brief["uscc"], "name": brief["name"], "kind": brief["subject_kind"]}


def check_own_entry(brief: dict[str, Any], subject_uscc: str | None) -> None:
    if not subject_uscc or subject_uscc != brief["uscc"]:
        raise Forbidden(f"只能为本主体（{subject_uscc or '未绑定主体'}）的名单条目申请信用修复",
                        code="not_own_subject")


def _open_entry_case(conn: Connection, brief: dict[str, Any], excluding: str | None) -> str | None:
    t = RepairCase.__table__
    which = (t.c.entry_id == brief["entry_id"] if brief["source"] == "workflow"
             else (t.c.record_id == brief["record_id"]) & (t.c.kind == LIST_EXIT))
    query = select(t.c.case_no).where(which, t.c.status.in_(rules.OPEN_STATUSES))
    if excluding is not None:
        query = query.where(t.c.case_no != excluding)
    return conn.execute(query.limit(1)).scalar_one_or_none()


def entry_state(conn: Connection, brief: dict[str, Any], day: date,
                excluding: str | None = None) -> rules.EntryState:
    kind = brief["kind"]
    in_force: tuple[tuple[str, date], ...] = ()
    if brief["source"] == "data":
        today = day.isoformat()
        in_force = tuple((s["reason"], date.fromisoformat(s["since"]))
                         for s in publicity.stops(conn, [brief["record_id"]]).get(brief["record_id"], [])
                         if s["since"] <= today and (s["until"] is None or s["until"] > today))
    return rules.EntryState(
        ref=brief["ref"], kind_code=brief["kind_code"], kind_name=brief["kind_name"],
        usable=kind is not None, list_type=brief["list_type"],
        repair_allowed=bool(kind and kind.repair),
        repair_after_months=kind.repair_after_months if kind else None,
        authority=brief["authority"] or "", exit=kind.exit if kind else "",
        listed_on=brief["listed_on"], ends_on=brief["ends_on"], ended_on=brief["ended_on"],
        end_reason=brief["end_reason"], superseded=brief["superseded"], stops=in_force,
        open_case=_open_entry_case(conn, brief, excluding))


def entry_eligibility(conn: Connection, ref: str, day: date,
                      excluding: str | None = None) -> rules.EntryEligibility:
    """May the entry's subject apply on `day` to leave the list by repair, and why."""
    return entry_eligibility_of(conn, lists.entry_brief(conn, ref), day, excluding)


def entry_eligibility_of(conn: Connection, brief: dict[str, Any], day: date,
                         excluding: str | None = None) -> rules.EntryEligibility:
    return rules.entry_eligibility(current_rules(), entry_state(conn, brief, day, excluding), day,
                                   add_months)


def entry_view(brief: dict[str, Any]) -> dict[str, Any]:
    """The entry as cases, the application page and the outbound event show it."""
    return {"ref": brief["ref"], "source": brief["source"], "kind": brief["kind_code"],
            "kind_name": brief["kind_name"], "authority": brief["authority"] or "",
            "doc_no": brief["doc_no"], "listed_on": _iso(brief["listed_on"]),
            "ends_on": _iso(brief["ends_on"]), "ended_on": _iso(brief["ended_on"])}


def _store_application(conn: Connection, actor: audit.Actor, case_no: str, subject_id: int,
                       day: date, due: date | None, statement: str, files: Sequence[Any],
                       what: dict[str, Any], detail: dict[str, Any]) -> None:
    """Store a new application (`what`: the record or entry it is about, and its kind) with its
    materials, audited as `repair.applied`."""
    result = conn.execute(insert(RepairCase).values(
        case_no=case_no, subject_id=subject_id, status="submitted", statement=statement[:5000],
        applicant=actor.name[:128], applied_at=utcnow().replace(microsecond=0), applied_on=day,
        step_since=day, due_on=due, rounds=1, **what))
    pk = result.inserted_primary_key
    assert pk is not None
    _store_files(conn, int(pk[0]), case_no, subject_id, files, 1)
    audit.record(conn, actor, "repair.applied", "repair_case", case_no, subject_id=subject_id,
                 detail={**detail, "materials": [f.material for f in files], "due_on": _iso(due)})
    _tell(conn, case_no, "repair.applied", day)


def apply_entry(engine: Engine, actor: audit.Actor, applicant_uscc: str | None, ref: str,
                statement: str, files: Sequence[Staged], day: date) -> dict[str, Any]:
    """Apply to leave a list early: refused (nothing stored) unless the entry is the
    applicant's subject's, eligible on `day`, and the kind's required materials are there."""
    repair_rules = current_rules()
    statement = statement.strip()
    if not statement:
        raise InvalidInput("请填写申请说明（失信行为的纠正和法定义务的履行情况）", code="statement_required")
    case_no = rules.new_case_no(day)
    try:
        with writing(engine) as conn:
            brief = lists.entry_brief(conn, ref)
            # one application at a time per entry, so two at once cannot both find none open
            lock_for_append(conn, f"repair_case:{brief['ref']}")
            check_own_entry(brief, applicant_uscc)
            refuse_unless_eligible(rules.entry_eligibility(
                repair_rules, entry_state(conn, brief, day), day, add_months))
            check_materials(list_exit_materials(repair_rules, brief), files, first=True)
            due = rules.due_on(repair_rules, "submitted", day, add_workdays)
            _store_application(conn, actor, case_no, brief["subject_id"], day, due, statement, files,
                       {"record_id": brief["record_id"] if brief["source"] == "data" else None,
                        "entry_id": brief["entry_id"], "kind": LIST_EXIT},
                       {"entry": brief["ref"], "kind": LIST_EXIT})
            return case_view(conn, case_no, day)
    except BaseException:
        shutil.rmtree(_case_folder(case_no), ignore_errors=True)
        raise


# --- materials ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Staged:
    """An upload already checked (type by signature, size) and written to a temporary file."""

    material: str
    filename: str
    path: Path
    file_type: str
    size: int
    sha256: str


def check_materials(repair_rules: rules.RepairRules | Sequence[rules.Material], files: Sequence[Staged],
                    *, first: bool) -> None:
    """Every file names a known material; a first application carries every required one.
    The materials are the penalty ones (the rules) or a list kind's (`list_exit_materials`)."""
    known = repair_rules.materials if isinstance(repair_rules, rules.RepairRules) else tuple(repair_rules)
    for f in files:
        if not any(m.code == f.material for m in known):
            raise InvalidInput(f"未知的材料类别“{f.material}”", code="unknown_material")
    if first:
        given = {f.material for f in files}
        missing = [m.name for m in known if m.required and m.code not in given]
        if missing:
            raise InvalidInput(f"缺少必须提交的材料：{'、'.join(missing)}", code="materials_missing")
    elif not files:
        raise InvalidInput("请上传需补正的材料", code="materials_missing")


def _case_folder(case_no: str) -> Path:
    return get_settings().files_dir / "repairs" / case_no


def _store_files(conn: Connection, case_id: int, case_no: str, subject_id: int, files: Sequence[Staged],
                 round_no: int) -> None:
    folder = _case_folder(case_no)
    folder.mkdir(parents=True, exist_ok=True)
    now = utcnow().replace(microsecond=0)
    for i, f in enumerate(files, 1):
        name = f"{round_no}-{f.material}-{i}.{f.file_type}"
        shutil.move(str(f.path), folder / name)
        conn.execute(insert(RepairMaterial).values(
            case_id=case_id, subject_id=subject_id, material=f.material, filename=f.filename[:255],
            stored=f"repairs/{case_no}/{name}", file_type=f.file_type, size=f.size, sha256=f.sha256,
            round=round_no, uploaded_at=now))


def digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


# --- the applicant's verbs ----------------------------------------------------------------

def apply(engine: Engine, actor: audit.Actor, applicant_uscc: str | None, record_id: int,
          statement: str, files: Sequence[Staged], day: date) -> dict[str, Any]:
    """File an application for the subject's own record. Refused (nothing stored) unless the
    record is the applicant's, eligible on `day`, and every required material is there."""
    repair_rules = current_rules()
    statement = statement.strip()
    if not statement:
        raise InvalidInput("请填写申请说明（失信行为的纠正和法定义务的履行情况）", code="statement_required")
    case_no = rules.new_case_no(day)
    try:
        with writing(engine) as conn:
            # one application at a time per record, so two at once cannot both find none open
            lock_for_append(conn, f"repair_case:{record_id}")
            brief = record_brief(conn, record_id)
            check_own(brief, applicant_uscc)
            refuse_unless_eligible(rules.eligibility(repair_rules, state_of(conn, brief, day), day))
            check_materials(repair_rules, files, first=True)
            due = rules.due_on(repair_rules, "submitted", day, add_workdays)
            _store_application(conn, actor, case_no, brief["subject_id"], day, due, statement, files,
                       {"record_id": record_id, "kind": "penalty"}, {"record": record_id})
            return case_view(conn, case_no, day)
    except BaseException:
        shutil.rmtree(_case_folder(case_no), ignore_errors=True)
        raise


def resubmit(engine: Engine, actor: audit.Actor, applicant_uscc: str | None, case_no: str,
             statement: str, files: Sequence[Staged], day: date) -> dict[str, Any]:
    """The subject completes a returned application (补正): back to staff, a new deadline."""
    repair_rules = current_rules()
    moved: list[Path] = []
    try:
        with writing(engine) as conn:
            case = _case_row(conn, case_no)
            if case["kind"] == LIST_EXIT:
                brief = lists.entry_brief(conn, case_ref(case))
                check_own_entry(brief, applicant_uscc)
                rules.next_status(case["status"], "resubmit")
                check_materials(list_exit_materials(repair_rules, brief), files, first=False)
            else:
                check_own(record_brief(conn, case["record_id"]), applicant_uscc)
                rules.next_status(case["status"], "resubmit")
                check_materials(repair_rules, files, first=False)
            round_no = case["rounds"] + 1
            moved = [_case_folder(case_no) / f"{round_no}-{f.material}-{i}.{f.file_type}"
                     for i, f in enumerate(files, 1)]
            _move(conn, case, "resubmit", day, repair_rules, rounds=round_no,
                  statement=(case["statement"] + "\n\n【补正说明】" + statement.strip())[:10000]
                  if statement.strip() else case["statement"])
            _store_files(conn, case["id"], case_no, case["subject_id"], files, round_no)
            audit.record(conn, actor, "repair.resubmitted", "repair_case", case_no,
                         subject_id=case["subject_id"],
                         detail={"round": round_no, "materials": [f.material for f in files]})
            _tell(conn, case_no, "repair.resubmitted", day)
            return case_view(conn, case_no, day)
    except BaseException:
        for path in moved:
            path.unlink(missing_ok=True)
        raise


# --- staff's verbs ------------------------------------------------------------------------

def _case_row(conn: Connection, case_no: str) -> dict[str, Any]:
    t = RepairCase.__table__
    row = conn.execute(select(t).where(t.c.case_no == case_no)).mappings().first()
    if row is None:
        raise NotFound(f"没有编号为 {case_no} 的信用修复案件", code="case_not_found")
    return dict(row)


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
        raise InvalidInput(f"案件 {case['case_no']} 已被他人处理，请刷新后查看", code="illegal_transition")
    return status


def decide(conn: Connection, actor: audit.Actor, case_no: str, action: str, reason: str,
           missing: Sequence[str] = (), day: date | None = None) -> dict[str, Any]:
    """accept | return (with what is missing) | approve | reject, with the reason. Illegal
    transitions and approving a record that is no longer eligible change nothing."""
    day = day or date.today()
    repair_rules = current_rules()
    case = _case_row(conn, case_no)
    if action == "resubmit":
        raise InvalidInput("补正材料由申请人提交", code="illegal_transition")
    rules.next_status(case["status"], action)
    reason = (reason or "").strip()
    missing = [m.strip() for m in missing if m and m.strip()]
    if action == "return" and not missing:
        raise InvalidInput("退回补正须写明需补充或更正的材料", code="missing_required")
    if action in ("approve", "reject") and not reason:
        raise InvalidInput(f"{rules.ACTIONS[action]}须写明理由", code="reason_required")
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
        detail["list_entries_ended"] = _end_list_entries(conn, actor, case["record_id"], day, case_no)
        detail["outbound_event"] = exchange.emit(conn, "repair.approved", case["subject_id"], {
            "case_no": case_no, "record": case["record_id"], "doc_no": brief["doc_no"],
            "department": brief["department"], "uscc": brief["uscc"], "decided_on": day.isoformat(),
            "publicity_stopped_since": day.isoformat(), "reason": reason})
    audit.record(conn, actor, f"repair.{_PAST[action]}", "repair_case", case_no,
                 subject_id=case["subject_id"], detail=detail)
    _tell(conn, case_no, f"repair.{_PAST[action]}", day, reason=reason, missing="、".join(missing))
    return case_view(conn, case_no, day)


def _tell(conn: Connection, case_no: str, event: str, day: date, **facts: Any) -> None:
    """Notify the case's subject of the change just made (same transaction), with what the
    case is about and its next deadline."""
    case = _case_row(conn, case_no)
    if case["kind"] == LIST_EXIT:
        about = f"移出{lists.entry_brief(conn, case_ref(case))['kind_name']}"
    else:
        r = Record.__table__
        doc_no = conn.execute(select(r.c.doc_no).where(r.c.id == case["record_id"])).scalar()
        about = f"文书号 {doc_no}"
    notifications.notify(conn, case["subject_id"], event, "repair", case_no, f"/repairs/{case_no}",
                         about=about, due_on=_iso(case["due_on"]) or "—", day=day.isoformat(),
                         **facts)


_PAST = {"accept": "accepted", "return": "returned", "approve": "approved", "reject": "rejected"}


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
    detail["outbound_event"] = exchange.emit(conn, "repair.approved", case["subject_id"], {
        "case_no": case_no, "kind": LIST_EXIT, "entry": entry, "uscc": brief["uscc"],
        "decided_on": day.isoformat(), "list_exit_since": day.isoformat(), "reason": reason})
    audit.record(conn, actor, "repair.approved", "repair_case", case_no,
                 subject_id=case["subject_id"], detail=detail)
    _tell(conn, case_no, "repair.approved", day, reason=reason)
    return case_view(conn, case_no, day)


def _end_list_entries(conn: Connection, actor: audit.Actor, record_id: int, day: date,
                      case_no: str) -> int | None:
    """End list entries resting on the record (C7, `xinyong.lists`). The lists capability is
    built alongside this one; until it is installed there are no entries to end (None)."""
    if importlib.util.find_spec("xinyong.lists") is None:
        return None
    if importlib.util.find_spec("xinyong.lists.service") is None:
        return None
    lists = importlib.import_module("xinyong.lists.service")
    return int(lists.end_for_record(conn, actor, record_id, day, case_no))


# --- reading ------------------------------------------------------------------------------

def _materials(conn: Connection, case_id: int) -> list[dict[str, Any]]:
    t = RepairMaterial.__table__
    names = {m.code: m.name for m in all_materials(current_rules())}
    return [{"id": r["id"], "material": r["material"], "name": names.get(r["material"], r["material"]),
             "filename": r["filename"], "file_type": r["file_type"], "size": r["size"],
             "round": r["round"], "uploaded_at": r["uploaded_at"]}
            for r in conn.execute(select(t).where(t.c.case_id == case_id).order_by(t.c.id)).mappings()]


def _history(conn: Connection, case_no: str) -> list[dict[str, Any]]:
    a = AuditEvent.__table__
    labels = {"applied": "提交申请", "accepted": "受理", "returned": "退回补正",
              "resubmitted": "补正后重新提交", "approved": "准予修复", "rejected": "不予修复"}
    rows = conn.execute(select(a.c.at, a.c.action, a.c.detail).where(
        a.c.object_type == "repair_case", a.c.object_id == case_no,
        a.c.action.in_([f"repair.{k}" for k in labels])).order_by(a.c.id)).all()
    out = []
    for at, action, detail in rows:
        d = orjson.loads(detail)
        step = action.split(".", 1)[1]
        out.append({"at": at, "action": step, "label": labels.get(step, step),
                    "reason": d.get("reason") or None, "missing": d.get("missing") or []})
    return out


def case_view(conn: Connection, case_no: str, day: date) -> dict[str, Any]:
    """Everything about a case: status, deadlines (overdue derived on `day`), the record, the
    materials and the steps so far."""
    case = _case_row(conn, case_no)
    if case["kind"] == LIST_EXIT:
        entry = lists.entry_brief(conn, case_ref(case))
        parts: dict[str, Any] = {"record": None, "entry": entry_view(entry),
                                 "subject": _subject_part(_entry_subject(entry))}
    else:
        brief = record_brief(conn, case["record_id"])
        parts = {"record": record_view(brief), "entry": None, "subject": _subject_part(brief)}
    return {
        "case_no": case_no, "kind": case["kind"], "kind_name": _kind_name(case["kind"]),
        "status": case["status"],
        "status_label": rules.STATUSES[case["status"]],
        "open": case["status"] in rules.OPEN_STATUSES,
        "applied_on": case["applied_on"].isoformat(), "applicant": case["applicant"],
        "step_since": case["step_since"].isoformat(), "due_on": _iso(case["due_on"]),
        "overdue": rules.overdue(case["due_on"], case["status"], day),
        "accepted_on": _iso(case["accepted_on"]), "decided_on": _iso(case["decided_on"]),
        "decided_by": case["decided_by"], "reason": case["reason"],
        "missing": orjson.loads(case["missing"]) if case["missing"] else [],
        "rounds": case["rounds"], "statement": case["statement"],
        **parts, "materials": _materials(conn, case["id"]), "history": _history(conn, case_no),
    }


def public_case_view(view: dict[str, Any]) -> dict[str, Any]:
    """What anyone holding the case number sees: status, dates, reasons — not the statement,
    the files or who handled it."""
    return {**view, "applicant": None, "decided_by": None, "statement": None,
            "materials": [{**m, "filename": None, "id": None} for m in view["materials"]]}


def record_view(brief: dict[str, Any]) -> dict[str, Any]:
    """The record as cases, the notice and the application page show it."""
    return {"id": brief["id"], "doc_no": brief["doc_no"], "department": brief["department"],
            "decision_date": _iso(brief["decision_date"]), "tier": brief["publicity_tier"],
            "published": bool(brief["published"]), "start": _iso(brief["publicity_start"]),
            "earliest_repair": _iso(brief["publicity_repair_from"]), "end": _iso(brief["publicity_end"])}


def _subject_part(brief: dict[str, Any]) -> dict[str, Any]:
    """A natural person by a masked name and no code (SPEC §2.4)."""
    if brief["kind"] == "natural_person":
        return {"uscc": None, "name": mask_person_name(brief["name"]) or "", "kind": brief["kind"]}
    return {"uscc": brief["uscc"], "name": brief["name"], "kind": brief["kind"]}


def queue(conn: Connection, day: date, *, status: str | None = None, overdue_only: bool = False,
          everything: bool = False, limit: int = 50, offset: int = 0,
          newest_first: bool = False, subject_id: int | None = None) -> list[dict[str, Any]]:
    """Cases for staff, soonest due first: open ones by default, or those of one status;
    `subject_id`: of one subject only (its own workspace)."""
    t, r, s = RepairCase.__table__, Record.__table__, Subject.__table__
    e = ListEntry.__table__
    query = (select(t.c.case_no, t.c.kind.label("case_kind"), t.c.status, t.c.applied_on, t.c.due_on,
                    t.c.step_since, t.c.rounds, t.c.record_id, t.c.entry_id,
                    func.coalesce(r.c.doc_no, e.c.doc_no).label("doc_no"),
                    func.coalesce(r.c.department, e.c.authority).label("department"),
                    r.c.publicity_tier, s.c.uscc, s.c.name, s.c.kind)
             .outerjoin(r, r.c.id == t.c.record_id).outerjoin(e, e.c.id == t.c.entry_id)
             .join(s, s.c.id == t.c.subject_id))
    if status is not None:
        if status not in rules.STATUSES:
            raise InvalidInput(f"未知的案件状态“{status}”（可用：{'、'.join(rules.STATUSES)}）")
        query = query.where(t.c.status == status)
    elif not everything:
        query = query.where(t.c.status.in_(rules.OPEN_STATUSES))
    if overdue_only:
        query = query.where(t.c.status.in_(("submitted", "accepted")), t.c.due_on < day)
    if subject_id is not None:
        query = query.where(t.c.subject_id == subject_id)
    order = (t.c.id.desc(),) if newest_first else (t.c.due_on.is_(None), t.c.due_on, t.c.id)
    query = query.order_by(*order).limit(limit).offset(offset)
    return [{"case_no": row.case_no, "status": row.status, "status_label": rules.STATUSES[row.status],
             "applied_on": row.applied_on.isoformat(), "due_on": _iso(row.due_on),
             "overdue": rules.overdue(row.due_on, row.status, day), "rounds": row.rounds,
             "kind": row.case_kind, "kind_name": _kind_name(row.case_kind),
             "record": row.record_id if row.case_kind != LIST_EXIT else None,
             "entry": case_ref({"kind": row.case_kind, "entry_id": row.entry_id,
                                "record_id": row.record_id}) if row.case_kind == LIST_EXIT else None,
             "doc_no": row.doc_no or "", "department": row.department or "",
             "tier": row.publicity_tier if row.case_kind != LIST_EXIT else None,
             "subject": _subject_part({"uscc": row.uscc, "name": row.name, "kind": row.kind})}
            for row in conn.execute(query)]


def counts(conn: Connection, day: date) -> dict[str, int]:
    """Cases by status, and open ones past their due date (for the console and the monitor)."""
    t = RepairCase.__table__
    found = {k: 0 for k in rules.STATUSES}
    for status, n in conn.execute(select(t.c.status, func.count()).group_by(t.c.status)):
        found[status] = int(n)
    found["overdue"] = int(conn.execute(select(func.count()).select_from(t).where(
        t.c.status.in_(("submitted", "accepted")), t.c.due_on < day)).scalar_one())
    return found


# Built once: the subject page asks it on every request.
_OPEN_CASES = (select(RepairCase.__table__.c.record_id, RepairCase.__table__.c.case_no,
                      RepairCase.__table__.c.status)
               .where(RepairCase.__table__.c.record_id.in_(bindparam("ids", expanding=True)),
                      RepairCase.__table__.c.status.in_(rules.OPEN_STATUSES))
               .order_by(RepairCase.__table__.c.id))


def open_cases(conn: Connection, record_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Records with a repair case in progress: record id → {case_no, status, label} — the
    subject page's "信用修复中" marker."""
    ids = list(dict.fromkeys(record_ids))
    found: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), 1000):
        for row in conn.execute(_OPEN_CASES, {"ids": ids[start:start + 1000]}):
            found[row.record_id] = {"case_no": row.case_no, "status": row.status,
                                    "label": rules.LABEL_OPEN}
    return found


def material_file(conn: Connection, case_no: str, material_id: int) -> tuple[Path, str]:
    """A stored material's path and the name it was sent with."""
    case = _case_row(conn, case_no)
    t = RepairMaterial.__table__
    row = conn.execute(select(t.c.stored, t.c.filename).where(
        t.c.id == material_id, t.c.case_id == case["id"])).first()
    if row is None:
        raise NotFound(f"案件 {case_no} 没有编号为 {material_id} 的材料")
    path = get_settings().files_dir / row.stored
    if not path.is_file():
        raise NotFound(f"材料文件 {row.filename} 已不在文件存储中，请联系管理员")
    return path, str(row.filename)


# --- the repair notice (信用修复告知书) -------------------------------------------------------

def notice(conn: Connection, record_id: int, day: date) -> dict[str, Any]:
    """What the 信用修复告知书 of a penalty record says on `day`: the record, when repair may
    be applied for and why, the materials, where to apply, the deadlines."""
    repair_rules = current_rules()
    brief = record_brief(conn, record_id)
    if brief["item_code"] != "penalty":
        raise InvalidInput("信用修复告知书只针对行政处罚信息", code="not_penalty")
    found = rules.eligibility(repair_rules, state_of(conn, brief, day), day)
    return {
        "record": record_view(brief), "subject": _subject_part(brief), "issued_on": day.isoformat(),
        "eligibility": {**found.as_json(), "to_prove": list(found.to_prove or repair_rules.to_prove)},
        "kind_name": repair_rules.kind_name,
        "materials": [{"code": m.code, "name": m.name, "required": m.required, "note": m.note}
                      for m in repair_rules.materials],
        "file_types": [t.upper() for t in repair_rules.file_types], "max_file_mib": repair_rules.max_file_mib,
        "deadlines": {"accept_workdays": repair_rules.accept_workdays,
                      "return_workdays": repair_rules.return_workdays,
                      "decide_workdays": repair_rules.decide_workdays},
        "apply_url": f"/repairs/new?record={record_id}", "basis": repair_rules.basis,
    }


def notice_text(n: dict[str, Any]) -> str:
    """The notice as plain text (the CLI prints it; the page lays out the same facts)."""
    r, s, e = n["record"], n["subject"], n["eligibility"]
    lines = [
        "信用修复告知书", "",
        f"{s['name']}" + (f"（统一社会信用代码：{s['uscc']}）" if s["uscc"] else "") + "：",
        f"　　{r['department']}于{r['decision_date']}作出行政处罚决定（{r['doc_no']}），"
        f"失信严重程度为“{r['tier'] or '未认定'}”。"
        + _shown_text(r),
    ]
    if e["eligible"]:
        lines.append(f"　　您现在可以申请{n['kind_name']}（{'；'.join(e['reasons'])}）。")
    elif e["eligible_from"]:
        lines.append(f"　　{'；'.join(e['reasons'])}。届时可申请{n['kind_name']}。")
    else:
        lines.append(f"　　{'；'.join(e['reasons'])}。")
    lines += ["", "一、申请条件：", *[f"　　{i}. {t}" for i, t in enumerate(e["to_prove"], 1)],
              "", "二、申请材料："]
    for i, m in enumerate(n["materials"], 1):
        lines.append(f"　　{i}. {m['name']}（{'必交' if m['required'] else '视情形提交'}"
                     + (f"；{m['note']}" if m["note"] else "") + "）")
    d = n["deadlines"]
    lines += [f"　　材料为 {'、'.join(n['file_types'])} 文件，每个不超过 {n['max_file_mib']} MiB。", "",
              "三、申请方式：",
              f"　　以本主体账号登录信用平台，在 {n['apply_url']} 在线提交申请，"
              "或通过接口 POST /api/v1/repairs 提交。",
              "", "四、办理时限：",
              f"　　自收到申请之日起 {d['accept_workdays']} 个工作日内受理，"
              f"材料不全的 {d['return_workdays']} 个工作日内一次性告知需补正的材料；"
              f"受理后 {d['decide_workdays']} 个工作日内作出是否准予修复的决定。"
              "修复成功的，当日停止公示，并同步至上级平台。",
              "", f"依据：{n['basis']}", f"告知日期：{n['issued_on']}"]
    return "\n".join(lines)


def _shown_text(r: dict[str, Any]) -> str:
    if not r["published"]:
        return "该信息不予公示。"
    until = f"至{r['end']}（不含当日）停止公示。" if r["end"] else "长期公示。"
    return f"该信息自{r['start']}起公示，{until}"


def list_cases(conn: Connection, day: date, status: str | None = None,
               limit: int = 200) -> list[dict[str, Any]]:
    """Cases of every status (or one), newest first, for the CLI."""
    return queue(conn, day, status=status, everything=status is None, limit=limit, newest_first=True)


def records_in_repair(conn: Connection) -> set[int]:
    """The ids of every record with a repair case in progress: the check index loads its
    "信用修复中" marks from them (`open_cases` for the cases themselves)."""
    t = RepairCase.__table__
    return set(conn.execute(select(t.c.record_id).where(t.c.status.in_(rules.OPEN_STATUSES)))
               .scalars())
