"""Objection verbs: filing a case, deciding it, reading a case and the departments' queue, and
which records are under objection. Every transition writes its change and its audit event in
one transaction; a refused transition changes nothing.

Effects on publicity go through `publicity.service` (stops), never flags; a correction is a
new version of the record stored the way ingest stores versions.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, func, insert, or_, select, update

from xinyong.accounts.rules import Forbidden, Principal, can, role_table
from xinyong.catalog.rules import Catalog
from xinyong.catalog.service import current_catalog
from xinyong.core import audit
from xinyong.core.dates import iso_seconds
from xinyong.core.db import Db, lock_for_append, reading, transaction, utcnow
from xinyong.core.errors import CoreError, InvalidInput, NotFound
from xinyong.core.masking import mask_id_number, mask_person_name
from xinyong.core.ruledata import UntilChanged, rule_paths
from xinyong.core.settings import get_settings
from xinyong.core.workdays import add_workdays
from xinyong.ingest.events import IngestEvent
from xinyong.notifications import service as notifications
from xinyong.objections import rules
from xinyong.objections.error_codes import ObjectionError
from xinyong.objections.events import ObjectionEvent
from xinyong.objections.models import Objection
from xinyong.publicity import rules as publicity_rules
from xinyong.publicity import service as publicity
from xinyong.subjects import service as subjects
from xinyong.subjects.models import Record, Subject

CASE_TYPE = "objection"


@dataclass(frozen=True)
class Attachment:
    """An uploaded file already checked (`rules.attachment_kind`) and saved to `path`; filing
    moves it into the case's folder."""

    name: str
    path: Path
    kind: str
    size: int


# --- rules in force -----------------------------------------------------------------------

def rules_paths(data_dir: Path | None = None) -> list[Path]:
    """The defaults shipped with the package, then `$XINYONG_DATA_DIR/objections.yaml`."""
    return rule_paths(rules.FILE, data_dir)


_loaded = UntilChanged(rules.load)


def current_rules() -> rules.ObjectionRules:
    """The objection rules in force; remembered until a rules file changes."""
    return _loaded.get(rules_paths())


def folder(case_no: str) -> Path:
    return get_settings().files_dir / "objections" / case_no


# --- filing -------------------------------------------------------------------------------

def _record_row(conn: Connection, record_id: int) -> Any:
    r, s = Record.__table__, Subject.__table__
    row = conn.execute(select(r, s.c.uscc.label("subject_uscc"), s.c.name.label("subject_name"),
                              s.c.kind.label("subject_kind"))
                       .join(s, s.c.id == r.c.subject_id).where(r.c.id == record_id)
                       ).mappings().one_or_none()
    if row is None:
        raise NotFound(f"没有编号为 {record_id} 的信用记录", code=CoreError.NOT_FOUND)
    return row


def _open_case(conn: Connection, record_id: int) -> Any:
    o = Objection.__table__
    return conn.execute(select(o.c.case_no, o.c.status).where(
        o.c.record_id == record_id, o.c.status.in_(rules.UNDER_OBJECTION))).first()


def filing_view(conn: Connection, principal: Principal, record_id: int) -> dict[str, Any]:
    """The record an enterprise is about to object to (its own only), and the rules it files
    under; says so when a case is already open."""
    row = _record_row(conn, record_id)
    rules.check_own_subject(principal, row["subject_uscc"])
    open_case = _open_case(conn, record_id)
    return {"record": _record_summary(row), "open_case": open_case.case_no if open_case else None,
            "current": row["status"] == "current", "rules": _rules_view(current_rules())}


def file_objection(db: Db, actor: audit.Actor, principal: Principal, record_id: int,
                   reason: str, attachments: Sequence[Attachment] = (), *,
                   today: date | None = None) -> dict[str, Any]:
    """File an objection to a current record of the principal's own subject. The record is
    under objection from this moment (derived from the open case); the case goes to the
    record's source department, due N working days after today."""
    today = today or date.today()
    current = current_rules()
    problem = rules.reason_problem(reason, current)
    if problem:
        raise InvalidInput(problem, code=ObjectionError.REASON_INVALID)
    if len(attachments) > current.max_files:
        raise InvalidInput(f"附件最多 {current.max_files} 个（现有 {len(attachments)} 个）",
                           code=ObjectionError.TOO_MANY_FILES)
    for a in attachments:
        if a.kind not in current.types:
            raise InvalidInput(f"附件“{a.name}”的类型不被接受", code=CoreError.FILE_TYPE)
    case_no = rules.case_no(today, secrets.token_bytes(5))
    target = folder(case_no)
    try:
        with transaction(db) as conn:
            row = _record_row(conn, record_id)
            rules.check_own_subject(principal, row["subject_uscc"])
            if row["status"] != "current":
                raise InvalidInput("该记录已被更正为新版本，请对现行版本提出异议",
                                   code=ObjectionError.RECORD_SUPERSEDED)
            # One open case per record: filing is serialised so two at once cannot both pass.
            lock_for_append(conn, "objection")
            existing = _open_case(conn, record_id)
            if existing is not None:
                raise InvalidInput(f"该记录已有正在处理的异议（{existing.case_no}），请等待处理结果",
                                   code=ObjectionError.OBJECTION_OPEN)
            stored = _store_files(target, attachments)
            due = rules.due_date(today, current, add_workdays)
            conn.execute(insert(Objection).values(
                case_no=case_no, record_id=record_id, subject_id=row["subject_id"],
                department=row["department"], status="open", reason=reason.strip(),
                attachments=orjson.dumps(stored).decode(), filed_on=today,
                filed_at=_now(), filed_by=actor.name[:128], due_date=due))
            audit.record(conn, actor, ObjectionEvent.FILED, "objection", case_no,
                         subject_id=row["subject_id"],
                         detail={"record": record_id, "department": row["department"],
                                 "due_date": due.isoformat(), "attachments": len(stored)})
            notifications.notify(conn, row["subject_id"], ObjectionEvent.FILED, "objection", case_no,
                                 f"/objections/{case_no}", doc_no=row["doc_no"],
                                 department=row["department"], due_date=due.isoformat())
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    with reading(db) as conn:
        return case_view(conn, case_no, full=True)


def _store_files(target: Path, attachments: Sequence[Attachment]) -> list[dict[str, Any]]:
    stored = []
    if attachments:
        target.mkdir(parents=True, exist_ok=True)
    for n, a in enumerate(attachments, start=1):
        name = f"{n}-{rules.safe_name(a.name)}"
        shutil.move(str(a.path), target / name)
        stored.append({"name": a.name[:200], "stored": name, "kind": a.kind, "size": a.size})
    return stored


def _now() -> datetime:
    return utcnow().replace(microsecond=0)


# --- deciding -----------------------------------------------------------------------------

def decide(db: Db, actor: audit.Actor, principal: Principal, case_no: str, action: str,
           reason: str | None = None, changes: dict[str, Any] | None = None, *,
           today: date | None = None) -> dict[str, Any]:
    """The source department's (or a reviewer's) decision on a case — correct, revoke,
    suspend, reject, or resume after a suspension. Refused, changing nothing, when the case
    is closed or the action does not follow from its status."""
    today = today or date.today()
    reason = (reason or "").strip() or None
    o = Objection.__table__
    with transaction(db) as conn:
        case = conn.execute(select(o).where(o.c.case_no == case_no).with_for_update()
                            ).mappings().one_or_none()
        if case is None:
            raise NotFound(f"没有编号为 {case_no} 的异议案件", code=CoreError.NOT_FOUND)
        rules.check_decider(principal, role_table().role(principal.role), case["department"])
        after = rules.next_status(case["status"], action, reason)
        if action != "correct" and changes:
            raise InvalidInput("只有“更正信息”的决定可以附带更正内容", code=ObjectionError.INVALID_CHANGES)
        values: dict[str, Any] = {"status": after, "action": action, "decision_reason": reason,
                                  "decided_at": _now(), "decided_by": actor.name[:128]}
        record_id = case["record_id"]
        if action == "correct":
            new_id = correct_record(conn, actor, record_id, changes or {}, case_no, today)
            values.update(changes=orjson.dumps(changes).decode(), corrected_record_id=new_id)
        elif action == "revoke":
            values["stop_id"] = publicity.stop_publicity(conn, actor, record_id, "revoked", today,
                                                         CASE_TYPE, case_no)
        elif action == "suspend":
            values["stop_id"] = publicity.stop_publicity(conn, actor, record_id, "suspended", today,
                                                         CASE_TYPE, case_no)
        elif action == "resume":
            publicity.resume_publicity(conn, actor, case["stop_id"], today)
        if after in rules.CLOSED:
            values["closed_at"] = values["decided_at"]
        conn.execute(update(Objection).where(o.c.id == case["id"]).values(**values))
        audit.record(conn, actor, ObjectionEvent.DECIDED, "objection", case_no,
                     subject_id=case["subject_id"],
                     detail={"action": action, "from": case["status"], "to": after,
                             "reason": reason, "record": record_id,
                             "corrected_record": values.get("corrected_record_id")})
        r = Record.__table__
        notifications.notify(
            conn, case["subject_id"], ObjectionEvent.DECIDED, "objection", case_no,
            f"/objections/{case_no}", status_label=rules.STATUSES[after],
            action_label=rules.ACTIONS[action].split("（")[0], department=case["department"],
            doc_no=conn.execute(select(r.c.doc_no).where(r.c.id == record_id)).scalar(),
            reason=reason)
    with reading(db) as conn:
        return case_view(conn, case_no, full=True, today=today)


def _subject_kind(catalog: Catalog, payload: dict[str, str]) -> str:
    kinds = catalog.enum_lookup("subject_category")
    found = kinds.get(payload.get("subject_category", ""))
    return (found.kind if found else None) or "organisation"


def correct_record(conn: Connection, actor: audit.Actor, record_id: int, changes: dict[str, Any],
                   case_no: str, today: date) -> int:
    """Store the department's corrected values as a new version of the record (the old one is
    superseded and kept as history, and leaves publicity with reason `corrected`); the new
    version gets its window computed from its own values under the rules in force. Returns
    the new version's id; audited as `record.corrected`."""
    row = _record_row(conn, record_id)
    if row["status"] != "current":
        raise InvalidInput("该记录已不是现行版本，不能更正", code=ObjectionError.RECORD_SUPERSEDED)
    catalog = current_catalog()
    item = catalog.item(row["item_code"])
    if item is None:
        raise InvalidInput(f"目录中没有条目 {row['item_code']}，无法校验更正内容",
                           code=ObjectionError.INVALID_CHANGES)
    payload = orjson.loads(row["payload"])
    values = rules.corrected_values(catalog, item, payload, changes, today)
    decision = date.fromisoformat(values[item.decision_date_field])
    in_force = publicity.current_rules(catalog)
    window = publicity_rules.window(in_force, item.publicity, values, decision,
                                    _subject_kind(catalog, values))
    version = row["version"] + 1
    subjects.store_versions(conn, [(
        row["source_key"], row["subject_id"], row["item_code"], row["department"], row["doc_no"],
        version, "current", decision.isoformat(), today.isoformat(), row["on_time"], row["batch_id"],
        row["row_no"], row["catalog_version_id"], orjson.dumps(values), *window.stored(),
        in_force.regime)], [record_id])
    r = Record.__table__
    new_id = int(conn.execute(select(r.c.id).where(r.c.source_key == row["source_key"],
                                                   r.c.version == version)).scalar_one())
    publicity.stop_publicity(conn, actor, record_id, "corrected", today, CASE_TYPE, case_no)
    fields = sorted(k for k in set(values) | set(payload) if values.get(k) != payload.get(k))
    audit.record(conn, actor, IngestEvent.RECORD_CORRECTED, "record", new_id, subject_id=row["subject_id"],
                 detail={"previous": record_id, "version": version, "case": case_no,
                         "fields": fields})
    return new_id


# --- reading ------------------------------------------------------------------------------

def _record_summary(row: Any) -> dict[str, Any]:
    item = current_catalog().item(row["item_code"])
    person = row["subject_kind"] == "natural_person"
    return {"id": row["id"], "kind": row["item_code"], "kind_name": item.name if item else row["item_code"],
            "doc_no": row["doc_no"], "department": row["department"],
            "decision_date": iso_seconds(row["decision_date"]), "version": row["version"],
            "status": row["status"],
            "subject": {"uscc": None if person else row["subject_uscc"],
                        "name": mask_person_name(row["subject_name"]) if person else row["subject_name"]}}


def _record_fields(row: Any) -> list[dict[str, Any]]:
    """The record's fields for the decider, personal numbers masked; which may be corrected."""
    item = current_catalog().item(row["item_code"])
    if item is None:
        return []
    payload = orjson.loads(row["payload"])
    fixed = rules.fixed_fields(item)
    return [{"name": f.name, "label": f.label, "type": f.type,
             "value": mask_id_number(payload.get(f.name)) if f.personal else payload.get(f.name, ""),
             "editable": f.name not in fixed and not f.personal}
            for f in item.fields]


HISTORY_LABELS = {ObjectionEvent.FILED: "提出异议", ObjectionEvent.DECIDED: "作出处理决定"}


def _history(conn: Connection, case_no: str) -> list[dict[str, Any]]:
    a = audit.AuditEvent.__table__
    out = []
    for row in conn.execute(select(a.c.at, a.c.action, a.c.detail).where(
            a.c.object_type == "objection", a.c.object_id == case_no).order_by(a.c.id)):
        detail = orjson.loads(row.detail)
        action = detail.get("action")
        out.append({"at": iso_seconds(row.at), "event": row.action,
                    "label": rules.ACTIONS.get(action, HISTORY_LABELS.get(row.action, row.action))
                    if action else HISTORY_LABELS.get(row.action, row.action),
                    "status": detail.get("to", "open" if row.action == ObjectionEvent.FILED else None)})
    return out


def case_view(conn: Connection, case_no: str, *, full: bool = False,
              today: date | None = None) -> dict[str, Any]:
    """A case as its follower sees it (status, due date, decision; never the filer's reason,
    attachments or any personal number), or in `full` as the decider sees it."""
    today = today or date.today()
    o = Objection.__table__
    case = (conn.execute(select(o).where(o.c.case_no == case_no)).mappings().one_or_none()
            if rules.is_case_no(case_no) else None)
    if case is None:
        raise NotFound(f"没有编号为 {case_no} 的异议案件，请核对案件编号", code=CoreError.NOT_FOUND)
    row = _record_row(conn, case["record_id"])
    view: dict[str, Any] = {
        "case_no": case["case_no"], "status": case["status"],
        "status_label": rules.STATUSES.get(case["status"], case["status"]),
        "under_objection": case["status"] in rules.UNDER_OBJECTION,
        "closed": case["status"] in rules.CLOSED,
        "filed_on": iso_seconds(case["filed_on"]), "due_date": iso_seconds(case["due_date"]),
        "overdue": rules.is_overdue(case["status"], case["due_date"], today),
        "department": case["department"],
        "record": _record_summary(row),
        "decision": None if case["action"] is None else {
            "action": case["action"], "label": rules.ACTIONS[case["action"]],
            "reason": case["decision_reason"], "decided_at": iso_seconds(case["decided_at"]),
            "corrected_record": case["corrected_record_id"]},
        "history": _history(conn, case_no),
    }
    if full:
        view.update({
            "reason": case["reason"], "filed_by": case["filed_by"], "filed_at": iso_seconds(case["filed_at"]),
            "attachments": [{"n": n, "name": a["name"], "kind": a["kind"], "size": a["size"]}
                            for n, a in enumerate(orjson.loads(case["attachments"]), start=1)],
            "decided_by": case["decided_by"],
            "changes": orjson.loads(case["changes"]) if case["changes"] else None,
            "fields": _record_fields(row),
            "actions": [a for (s, a) in rules.TRANSITIONS if s == case["status"]],
        })
    return view


def decider_case(conn: Connection, principal: Principal, case_no: str,
                 today: date | None = None) -> dict[str, Any]:
    """A case in full, for a decider of its department only."""
    view = case_view(conn, case_no, full=True, today=today)
    rules.check_decider(principal, role_table().role(principal.role), view["department"])
    return view


def case_for(conn: Connection, principal: Principal, case_no: str,
             today: date | None = None) -> dict[str, Any]:
    """A case as this principal may see it: in full for a decider of the case's department,
    else what anyone holding the case number sees."""
    view = case_view(conn, case_no, today=today)
    if can(principal, "objection.decide"):
        try:
            rules.check_decider(principal, role_table().role(principal.role), view["department"])
        except Forbidden:
            return view  # another department's case: what anyone holding the number sees
        return case_view(conn, case_no, full=True, today=today)
    return view


def attachment_path(conn: Connection, principal: Principal, case_no: str, n: int) -> tuple[Path, str, str]:
    """A case's n-th attachment for a decider: (path, original name, media type)."""
    view = decider_case(conn, principal, case_no)
    o = Objection.__table__
    stored = orjson.loads(conn.execute(select(o.c.attachments).where(o.c.case_no == case_no)).scalar_one())
    if not 1 <= n <= len(stored):
        raise NotFound(f"异议案件 {view['case_no']} 没有第 {n} 个附件",
                       code=ObjectionError.UNKNOWN_ATTACHMENT)
    a = stored[n - 1]
    path = folder(case_no) / a["stored"]
    if not path.is_file():
        raise NotFound(f"附件文件已不存在：{a['name']}", code=ObjectionError.ATTACHMENT_MISSING)
    return path, a["name"], rules.FILE_KINDS[a["kind"]][2]


def queue(conn: Connection, principal: Principal | None = None, *, department: str | None = None,
          status: str | None = None, overdue: bool | None = None, today: date | None = None,
          subject_id: int | None = None, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """Cases, oldest due first: of the principal's department if it is bound to one, else of
    `department` or all; by status (`under_objection` for open and suspended); overdue only
    or not overdue only; of one subject (its own workspace)."""
    today = today or date.today()
    o, r, s = Objection.__table__, Record.__table__, Subject.__table__
    if principal is not None:
        own = rules.decider_department(principal, role_table().role(principal.role))
        if own is not None:
            if department and department != own:
                rules.check_decider(principal, role_table().role(principal.role), department)
            department = own
    query = (select(o.c.case_no, o.c.status, o.c.filed_on, o.c.due_date, o.c.department,
                    o.c.action, o.c.record_id, r.c.item_code, r.c.doc_no, s.c.name, s.c.uscc,
                    s.c.kind)
             .join(r, r.c.id == o.c.record_id).join(s, s.c.id == o.c.subject_id)
             .order_by(o.c.due_date, o.c.id).limit(limit).offset(offset))
    if department:
        query = query.where(o.c.department == department)
    if subject_id is not None:
        query = query.where(o.c.subject_id == subject_id)
    if status == "under_objection":
        query = query.where(o.c.status.in_(rules.UNDER_OBJECTION))
    elif status:
        if status not in rules.STATUSES:
            raise InvalidInput(f"未知的异议状态 {status}（可选：{'、'.join(rules.STATUSES)}、"
                               "under_objection）", code=ObjectionError.INVALID_STATUS)
        query = query.where(o.c.status == status)
    if overdue is True:
        query = query.where(o.c.status == "open", o.c.due_date < today)
    elif overdue is False:
        query = query.where(or_(o.c.status != "open", o.c.due_date >= today))
    return [{"case_no": row.case_no, "status": row.status,
             "status_label": rules.STATUSES.get(row.status, row.status),
             "filed_on": iso_seconds(row.filed_on), "due_date": iso_seconds(row.due_date),
             "overdue": rules.is_overdue(row.status, row.due_date, today),
             "department": row.department, "action": row.action, "record": row.record_id,
             "kind": row.item_code, "doc_no": row.doc_no,
             "subject": {"uscc": None if row.kind == "natural_person" else row.uscc,
                         "name": mask_person_name(row.name) if row.kind == "natural_person" else row.name}}
            for row in conn.execute(query)]


# Built once: the subject page asks it on every request.
_OPEN_CASES = (select(Objection.__table__.c.record_id, Objection.__table__.c.case_no,
                      Objection.__table__.c.status, Objection.__table__.c.due_date)
               .where(Objection.__table__.c.record_id.in_(bindparam("ids", expanding=True)),
                      Objection.__table__.c.status.in_(rules.UNDER_OBJECTION)))


def open_cases(conn: Connection, record_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """record id → its case while it is under objection (open or suspended): the
    "异议处理中" marker the subject page shows next to the record."""
    if not record_ids:
        return {}
    found: dict[int, dict[str, Any]] = {}
    ids = list(dict.fromkeys(record_ids))
    for start in range(0, len(ids), 1000):
        for row in conn.execute(_OPEN_CASES, {"ids": ids[start:start + 1000]}):
            found[row.record_id] = {"case_no": row.case_no, "status": row.status,
                                    "due_date": iso_seconds(row.due_date), "label": rules.MARKER}
    return found


def counts(conn: Connection, department: str | None = None,
           today: date | None = None) -> dict[str, Any]:
    """Cases by status and how many are overdue, of one department or all (for the console
    and the monitor)."""
    today = today or date.today()
    o = Objection.__table__
    scope = o.c.department == department if department else o.c.id.is_not(None)
    by_status = {row.status: int(row.n) for row in conn.execute(
        select(o.c.status, func.count().label("n")).where(scope).group_by(o.c.status))}
    overdue = int(conn.execute(select(func.count()).select_from(o).where(
        scope, o.c.status == "open", o.c.due_date < today)).scalar_one())
    return {"by_status": by_status, "overdue": overdue}


def _rules_view(current: rules.ObjectionRules) -> dict[str, Any]:
    return {"decide_working_days": current.decide_working_days, "reason_min": current.reason_min,
            "reason_max": current.reason_max, "max_files": current.max_files,
            "max_mib": current.max_mib, "types": list(current.types), "basis": current.basis}


def records_under_objection(conn: Connection) -> set[int]:
    """The ids of every record under objection now (an open or suspended case): the check
    index loads its "异议处理中" marks from them (`open_cases` for the cases themselves)."""
    t = Objection.__table__
    return set(conn.execute(select(t.c.record_id).where(t.c.status.in_(rules.UNDER_OBJECTION)))
               .scalars())
