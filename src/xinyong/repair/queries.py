"""Repair queries: the rules in force, a record's or a list entry's eligibility, and reading
cases (a case, the queue, the counts, the records with a case in progress).

The reads that depend on who asks take the `Principal` and apply the rule themselves: an
unpublished record or a shared-only entry reaches only its own subject and staff who may read
everything (`visible_record`, `visible_entry`); only the subject itself applies
(`own_record`, `own_entry`); a case's statement and files are for reviewers and the subject
(`case_for`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, func, select

from xinyong.accounts.rules import Forbidden, Principal, can
from xinyong.core.audit import AuditEvent
from xinyong.core.dates import add_months, iso
from xinyong.core.errors import CoreError, InvalidInput, NotFound
from xinyong.core.masking import mask_person_name
from xinyong.core.ruledata import UntilChanged, rule_paths
from xinyong.lists import service as lists
from xinyong.lists.error_codes import ListsError
from xinyong.publicity import service as publicity
from xinyong.repair import rules
from xinyong.repair.error_codes import RepairError
from xinyong.repair.events import STEPS
from xinyong.repair.models import RepairCase, RepairMaterial
from xinyong.subjects.models import Record, Subject

PENALTY, LIST_EXIT = "penalty", "list_exit"  # repair_case.kind
CASE_TYPE = "repair"  # how publicity stops and notifications name a repair case


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
        raise NotFound(f"没有编号为 {record_id} 的信用记录", code=RepairError.RECORD_NOT_FOUND)
    return dict(row)


def check_visible(brief: dict[str, Any], subject_uscc: str | None, full: bool) -> None:
    """Records that are not published never reach the public: only their own subject and
    staff who may read everything learn they exist."""
    if not (brief["published"] or full or (subject_uscc and subject_uscc == brief["uscc"])):
        raise NotFound(f"没有编号为 {brief['id']} 的公示信用记录", code=RepairError.RECORD_NOT_FOUND)


def visible_record(conn: Connection, principal: Principal, record_id: int) -> dict[str, Any]:
    """`record_brief` of a record the principal may learn exists (`check_visible`)."""
    brief = record_brief(conn, record_id)
    check_visible(brief, principal.subject, can(principal, "subject.read_full"))
    return brief


def check_own(brief: dict[str, Any], subject_uscc: str | None) -> None:
    if not subject_uscc or subject_uscc != brief["uscc"]:
        raise Forbidden(f"只能为本主体（{subject_uscc or '未绑定主体'}）的信用记录申请信用修复",
                        code=CoreError.NOT_OWN_SUBJECT)


def own_record(conn: Connection, principal: Principal, record_id: int) -> dict[str, Any]:
    """`record_brief` of a record of the principal's own subject (Forbidden otherwise)."""
    brief = record_brief(conn, record_id)
    check_own(brief, principal.subject)
    return brief


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
        raise InvalidInput("不符合信用修复申请条件：" + "；".join(found.reasons),
                           code=RepairError.NOT_ELIGIBLE)


def check_may_apply(conn: Connection, principal: Principal, record_id: int,
                    day: date) -> dict[str, Any]:
    """The record's brief if the principal may apply for its repair on `day`: the record is
    its own subject's and eligible. The application checks it again in its transaction; an
    edge asks it first, before it reads any file."""
    brief = own_record(conn, principal, record_id)
    refuse_unless_eligible(eligibility_of(conn, brief, day))
    return brief


# --- leaving a list (移出严重失信主体名单) ------------------------------------------------------

def case_ref(case: Any) -> str:
    """The list entry a list-exit case is about (`L<entry id>` or `R<record id>`)."""
    return f"L{case['entry_id']}" if case["entry_id"] is not None else f"R{case['record_id']}"


def kind_name(kind: str) -> str:
    repair_rules = current_rules()
    if kind == LIST_EXIT and repair_rules.list_exit is not None:
        return repair_rules.list_exit.name
    return repair_rules.kind_name


def _entry_subject(brief: dict[str, Any]) -> dict[str, Any]:
    return {"uscc": brief["uscc"], "name": brief["name"], "kind": brief["subject_kind"]}


def check_own_entry(brief: dict[str, Any], subject_uscc: str | None) -> None:
    if not subject_uscc or subject_uscc != brief["uscc"]:
        raise Forbidden(f"只能为本主体（{subject_uscc or '未绑定主体'}）的名单条目申请信用修复",
                        code=CoreError.NOT_OWN_SUBJECT)


def own_entry(conn: Connection, principal: Principal, ref: str) -> dict[str, Any]:
    """`lists.service.entry_brief` of an entry of the principal's own subject."""
    brief = lists.entry_brief(conn, ref)
    check_own_entry(brief, principal.subject)
    return brief


def visible_entry(conn: Connection, principal: Principal, ref: str) -> dict[str, Any]:
    """`lists.service.entry_brief` of an entry the principal may learn exists: entries of
    shared-only (or unusable) kinds are not public, only their own subject and staff who
    may read everything learn they exist."""
    brief = lists.entry_brief(conn, ref)
    kind = brief["kind"]
    public = kind is not None and kind.publicity == "public"
    own = principal.subject is not None and principal.subject == brief["uscc"]
    if not (public or own or can(principal, "subject.read_full") or can(principal, "list.manage")):
        raise NotFound(f"没有编号为 {brief['ref']} 的名单条目", code=ListsError.ENTRY_NOT_FOUND)
    return brief


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


def check_may_apply_entry(conn: Connection, principal: Principal, ref: str,
                          day: date) -> dict[str, Any]:
    """As `check_may_apply`, for leaving a list: the entry's brief if it is the principal's
    own subject's and eligible on `day`."""
    brief = own_entry(conn, principal, ref)
    refuse_unless_eligible(entry_eligibility_of(conn, brief, day))
    return brief


def entry_view(brief: dict[str, Any]) -> dict[str, Any]:
    """The entry as cases, the application page and the outbound event show it."""
    return {"ref": brief["ref"], "source": brief["source"], "kind": brief["kind_code"],
            "kind_name": brief["kind_name"], "authority": brief["authority"] or "",
            "doc_no": brief["doc_no"], "listed_on": iso(brief["listed_on"]),
            "ends_on": iso(brief["ends_on"]), "ended_on": iso(brief["ended_on"])}


# --- cases --------------------------------------------------------------------------------

def case_row(conn: Connection, case_no: str) -> dict[str, Any]:
    t = RepairCase.__table__
    row = conn.execute(select(t).where(t.c.case_no == case_no)).mappings().first()
    if row is None:
        raise NotFound(f"没有编号为 {case_no} 的信用修复案件", code=RepairError.CASE_NOT_FOUND)
    return dict(row)


def _materials(conn: Connection, case_id: int) -> list[dict[str, Any]]:
    t = RepairMaterial.__table__
    names = {m.code: m.name for m in rules.all_materials(current_rules())}
    return [{"id": r["id"], "material": r["material"], "name": names.get(r["material"], r["material"]),
             "filename": r["filename"], "file_type": r["file_type"], "size": r["size"],
             "round": r["round"], "uploaded_at": r["uploaded_at"]}
            for r in conn.execute(select(t).where(t.c.case_id == case_id).order_by(t.c.id)).mappings()]


HISTORY_LABELS = dict(zip(STEPS, ("提交申请", "受理", "退回补正", "补正后重新提交", "准予修复", "不予修复"),
                          strict=True))


def _history(conn: Connection, case_no: str) -> list[dict[str, Any]]:
    a = AuditEvent.__table__
    rows = conn.execute(select(a.c.at, a.c.action, a.c.detail).where(
        a.c.object_type == "repair_case", a.c.object_id == case_no,
        a.c.action.in_(list(STEPS))).order_by(a.c.id)).all()
    out = []
    for at, action, detail in rows:
        d = orjson.loads(detail)
        step = action.split(".", 1)[1]
        out.append({"at": at, "action": step, "label": HISTORY_LABELS.get(action, step),
                    "reason": d.get("reason") or None, "missing": d.get("missing") or []})
    return out


def case_view(conn: Connection, case_no: str, day: date) -> dict[str, Any]:
    """Everything about a case: status, deadlines (overdue derived on `day`), the record, the
    materials and the steps so far."""
    case = case_row(conn, case_no)
    if case["kind"] == LIST_EXIT:
        entry = lists.entry_brief(conn, case_ref(case))
        parts: dict[str, Any] = {"record": None, "entry": entry_view(entry),
                                 "subject": subject_part(_entry_subject(entry))}
    else:
        brief = record_brief(conn, case["record_id"])
        parts = {"record": record_view(brief), "entry": None, "subject": subject_part(brief)}
    return {
        "case_no": case_no, "kind": case["kind"], "kind_name": kind_name(case["kind"]),
        "status": case["status"],
        "status_label": rules.STATUSES[case["status"]],
        "open": case["status"] in rules.OPEN_STATUSES,
        "applied_on": case["applied_on"].isoformat(), "applicant": case["applicant"],
        "step_since": case["step_since"].isoformat(), "due_on": iso(case["due_on"]),
        "overdue": rules.overdue(case["due_on"], case["status"], day),
        "accepted_on": iso(case["accepted_on"]), "decided_on": iso(case["decided_on"]),
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


def may_see_all(principal: Principal, view: dict[str, Any]) -> bool:
    """Reviewers, and the subject itself, see the statement and the files."""
    return can(principal, "repair.decide") or (
        principal.subject is not None and principal.subject == view["subject"]["uscc"])


def case_for(conn: Connection, principal: Principal, case_no: str, day: date) -> dict[str, Any]:
    """A case as the principal may see it: in full for reviewers and the subject itself,
    else `public_case_view`."""
    view = case_view(conn, case_no, day)
    return view if may_see_all(principal, view) else public_case_view(view)


def record_view(brief: dict[str, Any]) -> dict[str, Any]:
    """The record as cases, the notice and the application page show it."""
    return {"id": brief["id"], "doc_no": brief["doc_no"], "department": brief["department"],
            "decision_date": iso(brief["decision_date"]), "tier": brief["publicity_tier"],
            "published": bool(brief["published"]), "start": iso(brief["publicity_start"]),
            "earliest_repair": iso(brief["publicity_repair_from"]), "end": iso(brief["publicity_end"])}


def subject_part(brief: dict[str, Any]) -> dict[str, Any]:
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
    query = (select(t.c.case_no, t.c.kind.label("case_kind"), t.c.status, t.c.applied_on, t.c.due_on,
                    t.c.step_since, t.c.rounds, t.c.record_id, t.c.entry_id, r.c.doc_no,
                    r.c.department, r.c.publicity_tier, s.c.uscc, s.c.name, s.c.kind)
             .outerjoin(r, r.c.id == t.c.record_id)
             .join(s, s.c.id == t.c.subject_id))
    if status is not None:
        if status not in rules.STATUSES:
            raise InvalidInput(f"未知的案件状态“{status}”（可用：{'、'.join(rules.STATUSES)}）",
                               code=RepairError.UNKNOWN_CASE_STATUS)
        query = query.where(t.c.status == status)
    elif not everything:
        query = query.where(t.c.status.in_(rules.OPEN_STATUSES))
    if overdue_only:
        query = query.where(t.c.status.in_(("submitted", "accepted")), t.c.due_on < day)
    if subject_id is not None:
        query = query.where(t.c.subject_id == subject_id)
    order = (t.c.id.desc(),) if newest_first else (t.c.due_on.is_(None), t.c.due_on, t.c.id)
    rows = conn.execute(query.order_by(*order).limit(limit).offset(offset)).all()
    # A list-exit case of a workflow entry names the entry's decision and its authority
    # (lists' table); the record's, when the case is about a record, come first.
    entries = lists.workflow_entries(conn, [row.entry_id for row in rows if row.entry_id is not None])
    out = []
    for row in rows:
        entry = entries.get(row.entry_id, {})
        doc_no = row.doc_no if row.doc_no is not None else entry.get("doc_no")
        department = row.department if row.department is not None else entry.get("authority")
        out.append({
            "case_no": row.case_no, "status": row.status, "status_label": rules.STATUSES[row.status],
            "applied_on": row.applied_on.isoformat(), "due_on": iso(row.due_on),
            "overdue": rules.overdue(row.due_on, row.status, day), "rounds": row.rounds,
            "kind": row.case_kind, "kind_name": kind_name(row.case_kind),
            "record": row.record_id if row.case_kind != LIST_EXIT else None,
            "entry": case_ref({"kind": row.case_kind, "entry_id": row.entry_id,
                               "record_id": row.record_id}) if row.case_kind == LIST_EXIT else None,
            "doc_no": doc_no or "", "department": department or "",
            "tier": row.publicity_tier if row.case_kind != LIST_EXIT else None,
            "subject": subject_part({"uscc": row.uscc, "name": row.name, "kind": row.kind})})
    return out


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
