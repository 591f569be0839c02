"""List verbs: the kinds in force, the admission workflow (propose → notify → object → decide, or
withdraw), ending entries (repair, removal), and the entries active on a day.

Active entries are the union of two sources: entries the workflow decided (`list_entry` table)
and current `list_entry` records that departments submitted as data. Both are active on day D
when listed on or before D and not yet at their end (term end, or the day they were ended) —
derived from dates when asked, so an entry leaves its list on time without a job running.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    Date,
    String,
    and_,
    bindparam,
    cast,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB

from xinyong.accounts.rules import Principal
from xinyong.catalog.service import current_catalog
from xinyong.core import audit
from xinyong.core import uscc as uscc_rules
from xinyong.core.dates import iso
from xinyong.core.db import Db, is_sqlite, reading, transaction, utcnow
from xinyong.core.errors import CoreError, InvalidInput, NotFound
from xinyong.core.masking import mask_ids_in_text, mask_person_name
from xinyong.core.ruledata import UntilChanged, rule_paths
from xinyong.core.workdays import default_calendar
from xinyong.lists import rules
from xinyong.lists.error_codes import ListsError
from xinyong.lists.events import ListEvent
from xinyong.lists.models import ListEntry, ListProposal
from xinyong.lists.rules import ListKind
from xinyong.notifications import service as notifications
from xinyong.publicity import service as publicity
from xinyong.subjects.models import Record, Subject

FILE = "lists.yaml"
ITEM = "list_entry"  # the catalog item of lists arriving as data
NOTICES_LINK = "/enterprise#list-notices"  # where an enterprise reads its list notices
LIMITS = {"facts": 5000, "basis": 2000, "notice": 5000, "objection": 5000, "reason": 2000,
          "doc_no": 128}


# --- kinds ----------------------------------------------------------------------------------

def kinds_paths(data_dir: Path | None = None) -> list[Path]:
    """The national kinds shipped with the package, then `$XINYONG_DATA_DIR/lists.yaml`."""
    return rule_paths(FILE, data_dir)


_loaded = UntilChanged(rules.load)


def current_kinds() -> rules.KindTable:
    """The kinds in force; remembered until a file changes. Kinds without a legal basis are in
    `refused`, never in `kinds`."""
    return _loaded.get(kinds_paths())


def usable_kind(value: str) -> ListKind:
    """The usable kind with this code or name; a kind without basis or an unknown one is
    refused with the reason."""
    table = current_kinds()
    kind = table.by_name_or_code(value)
    if kind is None:
        if table.refused_named(value):
            raise InvalidInput(rules.refusal_message(value, table),
                               code=ListsError.LIST_KIND_WITHOUT_BASIS)
        raise InvalidInput(rules.refusal_message(value, table), code=ListsError.UNKNOWN_LIST_KIND)
    return kind


def catalog_problems(table: rules.KindTable | None = None) -> list[str]:
    """Where the catalog's `list_kind` enumeration and the usable kinds disagree: data could be
    submitted for a kind that cannot be used, or a usable kind cannot arrive as data."""
    table = table or current_kinds()
    values = [v.value for v in current_catalog().enums.get("list_kind", ())]
    names = {k.name for k in table.kinds.values()}
    problems = [f"目录枚举 list_kind 的取值“{v}”不是可用的名单种类"
                + ("（没有法律依据）" if table.refused_named(v) else "（名单种类文件中没有）")
                for v in values if v not in names]
    problems += [f"名单种类“{n}”不在目录枚举 list_kind 中，不能作为数据报送"
                 for n in sorted(names - set(values))]
    return problems


def kind_view(kind: ListKind) -> dict[str, Any]:
    return {"code": kind.code, "name": kind.name, "list_type": kind.list_type,
            "type_name": kind.type_name, "sector": kind.sector, "authority": kind.authority,
            "basis": {"document": kind.basis.document, "articles": kind.basis.articles},
            "criteria": kind.criteria, "notice_required": kind.notice_required,
            "waiting_workdays": kind.waiting_workdays, "publicity": kind.publicity,
            "term": kind.term_text, "term_months": kind.term_months, "repair": kind.repair,
            "repair_after_months": kind.repair_after_months, "exit": kind.exit}


def kinds_view(conn: Connection | None = None, day: date | None = None,
               public_only: bool = False) -> dict[str, Any]:
    """The usable kinds (with today's count of active entries when a connection is given) and
    the refused ones with their reasons."""
    table = current_kinds()
    kinds = [k for k in table.kinds.values() if not public_only or k.publicity == "public"]
    counts = _active_counts(conn, day or date.today()) if conn is not None else {}
    return {
        "kinds": [{**kind_view(k), "active": counts.get(k.code, 0)} for k in kinds],
        "refused": [{"code": r.code, "name": r.name, "source": r.source, "reason": r.reason}
                    for r in table.refused] if not public_only else [],
        "problems": catalog_problems(table) if not public_only else [],
    }


# --- the admission workflow -----------------------------------------------------------------

def _subject_by_uscc(conn: Connection, code: str) -> Any:
    normal = uscc_rules.normalise(code or "")
    errors = uscc_rules.validate(normal)
    if errors:
        raise InvalidInput("；".join(e.message for e in errors) + f"（“{code}”）",
                           code=CoreError.INVALID_USCC)
    s = Subject.__table__
    row = conn.execute(select(s.c.id, s.c.uscc, s.c.name, s.c.kind).where(s.c.uscc == normal)
                       .order_by(s.c.id).limit(1)).first()
    if row is None:
        raise NotFound(f"没有统一社会信用代码为 {normal} 的主体", code=CoreError.UNKNOWN_SUBJECT)
    return row


def propose(db: Db, actor: audit.Actor, kind: ListKind, uscc: str, facts: str,
            basis: str, day: date, record_id: int | None = None) -> int:
    """Open an admission case for the subject with this code; `record_id` is the credit record
    the proposal rests on (repairing it later ends the entry). Audited `list.proposed`."""
    with transaction(db) as conn:
        subject = _subject_by_uscc(conn, uscc)
        facts = rules.require_text(facts, "认定事实", LIMITS["facts"], "facts")
        basis = rules.require_text(basis, "认定依据", LIMITS["basis"], "basis")
        if record_id is not None:
            r = Record.__table__
            owner = conn.execute(select(r.c.subject_id).where(r.c.id == record_id)).scalar_one_or_none()
            if owner is None:
                raise NotFound(f"没有编号为 {record_id} 的信用记录", code=CoreError.UNKNOWN_RECORD)
            if owner != subject.id:
                raise InvalidInput(f"信用记录 {record_id} 不属于主体 {subject.uscc}",
                                   code=ListsError.RECORD_OTHER_SUBJECT)
        result = conn.execute(insert(ListProposal).values(
            subject_id=subject.id, kind_code=kind.code, status=rules.PROPOSED, facts=facts,
            basis=basis, record_id=record_id, proposed_on=day, proposed_at=utcnow(),
            proposed_by=actor.name[:128]))
        pk = result.inserted_primary_key
        assert pk is not None
        proposal_id = int(pk[0])
        audit.record(conn, actor, ListEvent.PROPOSED, "list_proposal", proposal_id,
                     subject_id=subject.id, detail={"kind": kind.code, "record_id": record_id,
                                                    "basis": basis, "on": day.isoformat()})
        return proposal_id


def _proposal(conn: Connection, proposal_id: int) -> Any:
    p = ListProposal.__table__
    row = conn.execute(select(p).where(p.c.id == proposal_id)).mappings().first()
    if row is None:
        raise NotFound(f"没有编号为 {proposal_id} 的名单认定申请", code=ListsError.UNKNOWN_PROPOSAL)
    return row


def _move(conn: Connection, row: Any, to: str, **values: Any) -> None:
    """Change status only if nobody changed it meanwhile: the check and the write are one."""
    p = ListProposal.__table__
    done = conn.execute(update(ListProposal).where(p.c.id == row["id"], p.c.status == row["status"])
                        .values(status=to, **values))
    if done.rowcount != 1:
        raise InvalidInput("该名单认定申请已被他人处理，请刷新后重试", code=CoreError.CONCURRENT_CHANGE)


def _tell(conn: Connection, subject_id: int, event: str, ref: int, kind_code: str,
          **facts: Any) -> None:
    """Notify the subject of a change of its proposal or entry (same transaction)."""
    kind = current_kinds().by_name_or_code(kind_code)
    notifications.notify(conn, subject_id, event, "list", ref, NOTICES_LINK,
                         kind_name=kind.name if kind else kind_code,
                         authority=kind.authority if kind else "认定单位", **facts)


def notify(db: Db, actor: audit.Actor, proposal_id: int, day: date,
           content: str) -> date | None:
    """Record the notice (告知) sent to the subject on `day`; returns the last day it may
    object (None: no waiting period). Audited `list.notified`."""
    with transaction(db) as conn:
        row = _proposal(conn, proposal_id)
        kind = usable_kind(row["kind_code"])
        rules.check_step("notice", row["status"], kind)
        content = rules.require_text(content, "告知内容", LIMITS["notice"], "content")
        if day < row["proposed_on"]:
            raise InvalidInput(f"告知日期不能早于申请日期 {row['proposed_on'].isoformat()}",
                               code=ListsError.DATE_ORDER)
        _move(conn, row, rules.NOTIFIED, notified_on=day, notice_content=content,
              notified_by=actor.name[:128])
        last = rules.objection_last_day(kind, day, default_calendar())
        audit.record(conn, actor, ListEvent.NOTIFIED, "list_proposal", proposal_id,
                     subject_id=row["subject_id"],
                     detail={"on": day.isoformat(), "objection_until": last.isoformat() if last else None})
        _tell(conn, row["subject_id"], ListEvent.NOTIFIED, proposal_id, row["kind_code"], content=content,
              until=f"如有异议，请于 {last.isoformat()} 前提出陈述、申辩。" if last else "")
        return last


def object_to(db: Db, actor: audit.Actor, principal: Principal, proposal_id: int, day: date,
              note: str) -> None:
    """The subject's objection (陈述、申辩) within the waiting period, by an account of the
    proposal's subject or recorded by the credit office (`rules.check_may_object`). Audited
    `list.objected`."""
    with transaction(db) as conn:
        rules.check_may_object(principal, subject_of_proposal(conn, proposal_id))
        row = _proposal(conn, proposal_id)
        kind = usable_kind(row["kind_code"])
        rules.check_step("objection", row["status"], kind)
        if row["objection"]:
            raise InvalidInput("已就该申请提出异议，不能重复提出", code=ListsError.ALREADY_OBJECTED)
        rules.check_objection_day(day, rules.objection_last_day(kind, row["notified_on"],
                                                                default_calendar()))
        note = rules.require_text(note, "异议理由", LIMITS["objection"], "note")
        _move(conn, row, rules.NOTIFIED, objection=note, objected_on=day, objected_by=actor.name[:128])
        audit.record(conn, actor, ListEvent.OBJECTED, "list_proposal", proposal_id,
                     subject_id=row["subject_id"], detail={"on": day.isoformat()})
        _tell(conn, row["subject_id"], ListEvent.OBJECTED, proposal_id, row["kind_code"])


def decide(db: Db, actor: audit.Actor, proposal_id: int, day: date, doc_no: str,
           reply: str | None = None) -> int:
    """The listing decision with its document number, after the waiting period; publishes the
    entry. An objection on file must be answered (`reply`). Audited `list.decided`."""
    with transaction(db) as conn:
        row = _proposal(conn, proposal_id)
        kind = usable_kind(row["kind_code"])
        rules.check_step("decision", row["status"], kind)
        rules.check_decision_day(day, rules.decide_from(kind, row["notified_on"], row["proposed_on"],
                                                        default_calendar()))
        doc_no = rules.require_text(doc_no, "认定决定文书号", LIMITS["doc_no"], "doc_no")
        answer = None
        if row["objection"]:
            answer = rules.require_text(reply, "对当事人异议的答复（采纳情况及理由）", LIMITS["objection"],
                                        "reply")
        _move(conn, row, rules.DECIDED, decided_on=day, decision_doc_no=doc_no, objection_reply=answer,
              decided_by=actor.name[:128])
        entry_id = _create_entry(conn, actor, kind, row, day, doc_no)
        audit.record(conn, actor, ListEvent.DECIDED, "list_proposal", proposal_id,
                     subject_id=row["subject_id"],
                     detail={"kind": kind.code, "doc_no": doc_no, "entry": entry_id,
                             "listed_on": day.isoformat(),
                             "ends_on": iso(kind.ends_on(day))})
        ends = kind.ends_on(day)
        _tell(conn, row["subject_id"], ListEvent.DECIDED, proposal_id, row["kind_code"], doc_no=doc_no,
              day=day.isoformat(), ends=f"列入期限至 {ends.isoformat()}（不含当日）。" if ends else "")
        return entry_id


def _create_entry(conn: Connection, actor: audit.Actor, kind: ListKind, proposal: Any,
                  day: date, doc_no: str) -> int:
    """The only writer of `list_entry` rows; it takes a `ListKind`, which has a basis."""
    result = conn.execute(insert(ListEntry).values(
        proposal_id=proposal["id"], subject_id=proposal["subject_id"], kind_code=kind.code,
        list_type=kind.list_type, authority=kind.authority, doc_no=doc_no,
        basis=f"{kind.basis}；{proposal['basis']}"[:2000], record_id=proposal["record_id"],
        listed_on=day, ends_on=kind.ends_on(day), created_at=utcnow(),
        created_by=actor.name[:128]))
    pk = result.inserted_primary_key
    assert pk is not None
    return int(pk[0])


def withdraw(db: Db, actor: audit.Actor, proposal_id: int, day: date, reason: str) -> None:
    """Close a proposal without listing (withdrawn, or not upheld after the objection), with
    the reason. Audited `list.withdrawn`."""
    with transaction(db) as conn:
        row = _proposal(conn, proposal_id)
        kind = current_kinds().by_name_or_code(row["kind_code"])
        if kind is not None:
            rules.check_step("withdrawal", row["status"], kind)
        elif row["status"] not in (rules.PROPOSED, rules.NOTIFIED):
            raise InvalidInput("该名单认定申请已办结，不能撤回", code=CoreError.ILLEGAL_TRANSITION)
        reason = rules.require_text(reason, "撤回理由", LIMITS["reason"], "reason")
        _move(conn, row, rules.WITHDRAWN, withdrawn_on=day, withdrawal_reason=reason,
              withdrawn_by=actor.name[:128])
        audit.record(conn, actor, ListEvent.WITHDRAWN, "list_proposal", proposal_id,
                     subject_id=row["subject_id"], detail={"on": day.isoformat(), "reason": reason})
        if row["notified_on"] is not None:  # a subject never told of the proposal is not told this
            _tell(conn, row["subject_id"], ListEvent.WITHDRAWN, proposal_id, row["kind_code"], reason=reason)


def remove(db: Db, actor: audit.Actor, entry_id: int, day: date, reason: str,
           doc_no: str) -> None:
    """Removal by the deciding authority (移出), with reason and document number, from `day`.
    Audited `list.removed`."""
    with transaction(db) as conn:
        e = ListEntry.__table__
        row = conn.execute(select(e).where(e.c.id == entry_id)).mappings().first()
        if row is None:
            raise NotFound(f"没有编号为 {entry_id} 的名单条目", code=ListsError.UNKNOWN_ENTRY)
        if not rules.is_active(day, row["listed_on"], row["ends_on"], row["ended_on"]) \
                and not (day < row["listed_on"] and row["ended_on"] is None):
            raise InvalidInput(f"名单条目 {entry_id} 在 {day.isoformat()} 已不在名单上，无需移出",
                               code=ListsError.ENTRY_NOT_ACTIVE)
        reason = rules.require_text(reason, "移出理由", LIMITS["reason"], "reason")
        doc_no = rules.require_text(doc_no, "移出决定文书号", LIMITS["doc_no"], "doc_no")
        done = conn.execute(update(ListEntry).where(e.c.id == entry_id, e.c.ended_on.is_(None)).values(
            ended_on=max(day, row["listed_on"]), end_reason="removed", end_note=reason,
            end_doc_no=doc_no))
        if done.rowcount != 1:
            raise InvalidInput("该名单条目已被他人处理，请刷新后重试", code=CoreError.CONCURRENT_CHANGE)
        audit.record(conn, actor, ListEvent.REMOVED, "list_entry", entry_id, subject_id=row["subject_id"],
                     detail={"on": day.isoformat(), "reason": reason, "doc_no": doc_no})
        _tell(conn, row["subject_id"], ListEvent.REMOVED, row["proposal_id"] or entry_id, row["kind_code"],
              day=max(day, row["listed_on"]).isoformat(), doc_no=doc_no, reason=reason)


def end_for_record(db: Db, actor: audit.Actor, record_id: int, day: date,
                   case_id: str) -> int:
    """End, from `day`, the entries resting on this record (any version of its document) because
    it was repaired; when the record is itself a list entry submitted as data, take it out of
    publicity as repaired. Each ending is audited `list.ended`; returns how many ended."""
    with transaction(db) as conn:
        r = Record.__table__
        target = conn.execute(select(r.c.source_key, r.c.item_code, r.c.subject_id)
                              .where(r.c.id == record_id)).first()
        if target is None:
            raise NotFound(f"没有编号为 {record_id} 的信用记录", code=CoreError.UNKNOWN_RECORD)
        e = ListEntry.__table__
        versions = select(r.c.id).where(r.c.source_key == target.source_key)
        rows = conn.execute(select(e.c.id, e.c.subject_id, e.c.kind_code, e.c.proposal_id).where(
            e.c.record_id.in_(versions), e.c.ended_on.is_(None), e.c.listed_on <= day,
            or_(e.c.ends_on.is_(None), e.c.ends_on > day))).all()
        for row in rows:
            conn.execute(update(ListEntry).where(e.c.id == row.id).values(
                ended_on=day, end_reason="repaired", end_case_id=case_id[:32]))
            audit.record(conn, actor, ListEvent.ENDED, "list_entry", row.id, subject_id=row.subject_id,
                         detail={"on": day.isoformat(), "reason": "repaired", "record_id": record_id,
                                 "case_id": case_id})
            _tell(conn, row.subject_id, ListEvent.ENDED, row.proposal_id, row.kind_code, day=day.isoformat(),
                  case_no=case_id)
        ended = len(rows)
        if target.item_code == ITEM and not _stopped(conn, record_id, day):
            publicity.stop_publicity(conn, actor, record_id, "repaired", day, "repair", case_id)
            audit.record(conn, actor, ListEvent.ENDED, "record", record_id, subject_id=target.subject_id,
                         detail={"on": day.isoformat(), "reason": "repaired", "case_id": case_id})
            ended += 1
        return ended


# --- one entry, by reference (leaving a list by repair) ------------------------------------

def entry_ref(entry: dict[str, Any]) -> str:
    """An active entry's reference, whichever its source: `L<entry id>` for an entry the
    workflow decided, `R<record id>` for a `list_entry` record submitted as data. The repair
    application of an entry is at `/repairs/new?entry=<ref>`."""
    return f"L{entry['entry_id']}" if entry.get("entry_id") is not None else f"R{entry['record_id']}"


ENTRY_REF_PATTERN = r"^[LlRr]?\d{1,18}$"


def parse_ref(ref: str) -> tuple[str, int]:
    """(`workflow` | `data`, id) of a reference; plain digits are a workflow entry's id (as in
    `/api/v1/list-entries/{id}/removal`)."""
    text = (ref or "").strip().upper()
    source = "data" if text.startswith("R") else "workflow"
    digits = text[1:] if text[:1] in ("L", "R") else text
    if not digits.isdigit() or not 0 < int(digits) < 2**62:
        raise InvalidInput(f"“{ref}”不是名单条目编号（L+条目编号，或 R+名单信息记录编号）",
                           code=ListsError.INVALID_ENTRY)
    return source, int(digits)


def entry_brief(conn: Connection, ref: str) -> dict[str, Any]:
    """One entry, active or not, whichever its source: ref, source, entry_id, record_id,
    kind (ListKind | None when not usable), kind_code, kind_name, list_type, authority,
    doc_no, basis, listed_on, ends_on, ended_on, end_reason, superseded, subject (id, uscc,
    name, kind). NotFound (`entry_not_found`) if there is none."""
    source, pk = parse_ref(ref)
    s = Subject.__table__
    table = current_kinds()
    subject_cols = (s.c.id.label("subject_id"), s.c.uscc, s.c.name.label("subject_name"),
                    s.c.kind.label("subject_kind"))
    if source == "workflow":
        e = ListEntry.__table__
        row = conn.execute(select(e, *subject_cols[1:]).join(s, s.c.id == e.c.subject_id)
                           .where(e.c.id == pk)).mappings().first()
        if row is None:
            raise NotFound(f"没有编号为 L{pk} 的名单条目", code=ListsError.ENTRY_NOT_FOUND)
        kind = table.kinds.get(row["kind_code"])
        return {"ref": f"L{pk}", "source": source, "entry_id": pk, "record_id": row["record_id"],
                "kind": kind, "kind_code": row["kind_code"],
                "kind_name": kind.name if kind else row["kind_code"],
                "list_type": row["list_type"], "authority": row["authority"], "doc_no": row["doc_no"],
                "basis": mask_ids_in_text(row["basis"] or ""), "listed_on": row["listed_on"],
                "ends_on": row["ends_on"],
                "ended_on": row["ended_on"], "end_reason": row["end_reason"], "superseded": False,
                "subject_id": row["subject_id"], "uscc": row["uscc"], "name": row["subject_name"],
                "subject_kind": row["subject_kind"]}
    r = Record.__table__
    found = conn.execute(select(r.c.id, r.c.item_code, r.c.status, r.c.doc_no, r.c.decision_date,
                                r.c.payload, *subject_cols).join(s, s.c.id == r.c.subject_id)
                         .where(r.c.id == pk)).mappings().first()
    if found is None or found["item_code"] != ITEM:
        raise NotFound(f"没有编号为 R{pk} 的名单信息", code=ListsError.ENTRY_NOT_FOUND)
    payload = orjson.loads(found["payload"])
    kind = table.by_name_or_code(str(payload.get("list_kind", "")))
    ends = payload.get("ends_on") or None
    return {"ref": f"R{pk}", "source": source, "entry_id": None, "record_id": pk, "kind": kind,
            "kind_code": kind.code if kind else str(payload.get("list_kind", "")),
            "kind_name": kind.name if kind else str(payload.get("list_kind", "")),
            "list_type": kind.list_type if kind else None,
            "authority": payload.get("authority") or (kind.authority if kind else ""),
            "doc_no": found["doc_no"],
            "basis": mask_ids_in_text(payload.get("basis") or (str(kind.basis) if kind else "")),
            "listed_on": found["decision_date"], "ends_on": None,
            # a data entry's 移出日期 is the day the authority took it off: it ended then
            "ended_on": date.fromisoformat(ends) if ends else None,
            "end_reason": "removed" if ends else None, "superseded": found["status"] != "current",
            "subject_id": found["subject_id"], "uscc": found["uscc"], "name": found["subject_name"],
            "subject_kind": found["subject_kind"]}


def end_for_repair(db: Db, actor: audit.Actor, ref: str, day: date, case_id: str) -> None:
    """End one entry from `day` because its subject's repair application was approved: a
    workflow entry gets `ended_on` (reason `repaired`), a data entry a publicity stop
    `repaired`. Audited `list.ended`. Refused (nothing changed) if it is not active that day."""
    with transaction(db) as conn:
        brief = entry_brief(conn, ref)
        if brief["source"] == "workflow":
            e = ListEntry.__table__
            done = conn.execute(update(ListEntry).where(
                e.c.id == brief["entry_id"], e.c.ended_on.is_(None), e.c.listed_on <= day,
                or_(e.c.ends_on.is_(None), e.c.ends_on > day)).values(
                ended_on=day, end_reason="repaired", end_case_id=case_id[:32]))
            if done.rowcount != 1:
                raise InvalidInput(f"名单条目 {brief['ref']} 在 {day.isoformat()} 已不在名单上",
                                   code=ListsError.ENTRY_NOT_ACTIVE)
            audit.record(conn, actor, ListEvent.ENDED, "list_entry", brief["entry_id"],
                         subject_id=brief["subject_id"],
                         detail={"on": day.isoformat(), "reason": "repaired", "case_id": case_id})
            return
        record_id = brief["record_id"]
        if brief["superseded"] or _stopped(conn, record_id, day) or (
                brief["ended_on"] is not None and brief["ended_on"] <= day):
            raise InvalidInput(f"名单信息 {brief['ref']} 在 {day.isoformat()} 已不在名单上",
                               code=ListsError.ENTRY_NOT_ACTIVE)
        publicity.stop_publicity(conn, actor, record_id, "repaired", day, "repair", case_id)
        audit.record(conn, actor, ListEvent.ENDED, "record", record_id, subject_id=brief["subject_id"],
                     detail={"on": day.isoformat(), "reason": "repaired", "case_id": case_id})


def _stopped(conn: Connection, record_id: int, day: date) -> bool:
    """The record is out of publicity for good (a stop without end) since `day` or before."""
    on = day.isoformat()  # stops() gives ISO dates, which compare as the days do
    return any(s["since"] <= on and s["until"] is None
               for s in publicity.stops(conn, [record_id]).get(record_id, []))


# --- reading proposals ----------------------------------------------------------------------

def _proposal_view(row: Any, today: date, due_workdays: int) -> dict[str, Any]:
    kind = current_kinds().by_name_or_code(row["kind_code"])
    calendar = default_calendar()
    last = first = due = None
    if kind is not None and row["notified_on"] is not None:
        last = rules.objection_last_day(kind, row["notified_on"], calendar)
    if kind is not None and row["status"] in (rules.PROPOSED, rules.NOTIFIED) and \
            (row["status"] == rules.NOTIFIED or not kind.notice_required):
        first = rules.decide_from(kind, row["notified_on"], row["proposed_on"], calendar)
        due = rules.decision_due(kind, row["notified_on"], row["proposed_on"], due_workdays, calendar)
    open_case = row["status"] in (rules.PROPOSED, rules.NOTIFIED)
    return {
        "id": row["id"], "status": row["status"],
        "status_name": rules.STATUS_NAMES.get(row["status"], row["status"]),
        "kind": row["kind_code"], "kind_name": kind.name if kind else row["kind_code"],
        "kind_usable": kind is not None,
        "list_type": kind.list_type if kind else None,
        "notice_required": kind.notice_required if kind else True,
        "waiting_workdays": kind.waiting_workdays if kind else None,
        "subject": {"uscc": row["uscc"], "name": row["name"], "kind": row["subject_kind"]},
        "facts": row["facts"], "basis": row["basis"],
        "kind_basis": str(kind.basis) if kind else None,
        "record_id": row["record_id"], "proposed_on": iso(row["proposed_on"]),
        "proposed_by": row["proposed_by"], "notified_on": iso(row["notified_on"]),
        "notice_content": row["notice_content"], "objection_until": iso(last),
        "objection": row["objection"], "objected_on": iso(row["objected_on"]),
        "decide_from": iso(first), "decision_due": iso(due),
        "overdue": bool(open_case and due is not None and today > due),
        "in_waiting_period": bool(row["status"] == rules.NOTIFIED and first is not None
                                  and today < first),
        "decided_on": iso(row["decided_on"]), "decision_doc_no": row["decision_doc_no"],
        "objection_reply": row["objection_reply"], "withdrawn_on": iso(row["withdrawn_on"]),
        "withdrawal_reason": row["withdrawal_reason"],
        "steps": sorted(rules.allowed_steps(row["status"], kind)) if kind else
        (["withdrawal"] if open_case else []),
    }


def _proposal_select() -> Any:
    p, s = ListProposal.__table__, Subject.__table__
    return select(p, s.c.uscc, s.c.name, s.c.kind.label("subject_kind")).join(
        s, s.c.id == p.c.subject_id)


def proposal_view(db: Db, proposal_id: int, today: date) -> dict[str, Any]:
    """One proposal as the credit office sees it, with its entry once decided."""
    with reading(db) as conn:
        p = ListProposal.__table__
        row = conn.execute(_proposal_select().where(p.c.id == proposal_id)).mappings().first()
        if row is None:
            raise NotFound(f"没有编号为 {proposal_id} 的名单认定申请", code=ListsError.UNKNOWN_PROPOSAL)
        view = _proposal_view(row, today, current_kinds().decision_due_workdays)
        e = ListEntry.__table__
        entry = conn.execute(select(e).where(e.c.proposal_id == proposal_id)).mappings().first()
        view["entry"] = None if entry is None else {
            "id": entry["id"], "doc_no": entry["doc_no"], "listed_on": iso(entry["listed_on"]),
            "ends_on": iso(entry["ends_on"]), "ended_on": iso(entry["ended_on"]),
            "end_reason": entry["end_reason"], "end_note": entry["end_note"],
            "end_doc_no": entry["end_doc_no"],
            "active": rules.is_active(today, entry["listed_on"], entry["ends_on"], entry["ended_on"])}
        return view


def proposals(conn: Connection, today: date, *, open_only: bool = False, uscc: str | None = None,
              limit: int = 20, offset: int = 0) -> list[dict[str, Any]]:
    """Proposals, open ones first then newest; `uscc` narrows to one subject's."""
    p, s = ListProposal.__table__, Subject.__table__
    query = _proposal_select()
    if open_only:
        query = query.where(p.c.status.in_((rules.PROPOSED, rules.NOTIFIED)))
    if uscc is not None:
        query = query.where(s.c.uscc == uscc)
    rows = conn.execute(query.order_by(p.c.id.desc()).limit(limit).offset(offset)).mappings()
    due = current_kinds().decision_due_workdays
    return [_proposal_view(r, today, due) for r in rows]


def counts(conn: Connection, today: date) -> dict[str, int]:
    """Open proposals (to notify, in the objection period), how many may be decided today and
    how many are past their decision due day (the console home's to-do counts)."""
    p = ListProposal.__table__
    rows = conn.execute(select(p.c.status, p.c.kind_code, p.c.notified_on, p.c.proposed_on)
                        .where(p.c.status.in_((rules.PROPOSED, rules.NOTIFIED)))).mappings()
    found = {"open": 0, "to_notify": 0, "ready": 0, "overdue": 0}
    calendar, due_workdays = default_calendar(), current_kinds().decision_due_workdays
    for row in rows:
        found["open"] += 1
        kind = current_kinds().by_name_or_code(row["kind_code"])
        if kind is None:
            continue
        if row["status"] == rules.PROPOSED and kind.notice_required:
            found["to_notify"] += 1
            continue
        first = rules.decide_from(kind, row["notified_on"], row["proposed_on"], calendar)
        if first <= today:
            found["ready"] += 1
        if rules.decision_due(kind, row["notified_on"], row["proposed_on"], due_workdays,
                              calendar) < today:
            found["overdue"] += 1
    return found


def subject_of_proposal(conn: Connection, proposal_id: int) -> str | None:
    p, s = ListProposal.__table__, Subject.__table__
    found = conn.execute(select(s.c.uscc).join(p, p.c.subject_id == s.c.id)
                         .where(p.c.id == proposal_id)).first()
    if found is None:
        raise NotFound(f"没有编号为 {proposal_id} 的名单认定申请", code=ListsError.UNKNOWN_PROPOSAL)
    return found.uscc if found.uscc else None


# --- active entries -------------------------------------------------------------------------

def _json_text(conn: Connection, column: Any, key: str) -> ColumnElement[Any]:
    return _json_text_on(is_sqlite(conn), column, key)


def _json_text_on(sqlite: bool, column: Any, key: str) -> ColumnElement[Any]:
    if sqlite:
        extracted: ColumnElement[Any] = func.json_extract(column, f"$.{key}")
        return extracted
    text: ColumnElement[Any] = cast(column, JSONB)[key].astext
    return text


def workflow_entry_active(day: Any) -> ColumnElement[bool]:
    """SQL: a `list_entry` row (decided in the platform's workflow) in force on `day` — a date,
    or a bound parameter of one (cached statements). Checks, warnings and statistics share it,
    so that they never disagree on who is listed."""
    e = ListEntry.__table__
    return and_(e.c.listed_on <= day, or_(e.c.ends_on.is_(None), e.c.ends_on > day),
                or_(e.c.ended_on.is_(None), e.c.ended_on > day))


def _data_active(conn: Connection, day: date) -> ColumnElement[bool]:
    return data_entry_active_on(is_sqlite(conn), day, day.isoformat())


def data_entry_active_on(sqlite: bool, day: Any, day_iso: Any) -> ColumnElement[bool]:
    """A current `list_entry` record listed by `day`, not past its 移出日期, and not taken out
    of publicity that day (repaired, revoked or suspended after an objection)."""
    r = Record.__table__
    ends = _json_text_on(sqlite, r.c.payload, "ends_on")
    return and_(r.c.item_code == ITEM, r.c.status == "current", r.c.decision_date <= day,
                or_(ends.is_(None), ends == "", ends > day_iso), ~publicity.stopped_on(r, day))


@lru_cache(maxsize=4)
def _by_subject(sqlite: bool) -> tuple[Any, Any]:
    """The two statements of a subject's (or a few subjects') active entries, built once: a
    subject page or a check asks them on every request, and building the expressions cost
    more than running them."""
    e, r, s = ListEntry.__table__, Record.__table__, Subject.__table__
    day, day_iso = bindparam("day", type_=Date()), bindparam("day_iso", type_=String())
    ids: Any = bindparam("ids", expanding=True)
    subject = (s.c.uscc.label("subject_uscc"), s.c.name.label("subject_name"),
               s.c.kind.label("subject_kind"))
    workflow = (select(e, *subject).join(s, s.c.id == e.c.subject_id)
                .where(workflow_entry_active(day), e.c.subject_id.in_(ids))
                .order_by(e.c.listed_on.desc(), e.c.id.desc()))
    data = (select(r.c.id, r.c.subject_id, r.c.doc_no, r.c.decision_date, r.c.department,
                   r.c.payload, *subject).join(s, s.c.id == r.c.subject_id)
            .where(data_entry_active_on(sqlite, day, day_iso), r.c.subject_id.in_(ids))
            .order_by(r.c.decision_date.desc(), r.c.id.desc()))
    return workflow, data


def _subject_out(row: Any, public: bool) -> dict[str, Any]:
    person = row.subject_kind == "natural_person"
    name = mask_person_name(row.subject_name) if person and public else row.subject_name
    return {"uscc": None if person else row.subject_uscc, "name": name or "", "kind": row.subject_kind}


def _workflow_rows(conn: Connection, day: date, *, kinds: Sequence[str] | None = None,
                   subject_ids: Sequence[int] | None = None, limit: int | None = None) -> list[Any]:
    if kinds is None and limit is None and subject_ids is not None:
        return list(conn.execute(_by_subject(is_sqlite(conn))[0],
                                 {"day": day, "ids": list(subject_ids)}))
    e, s = ListEntry.__table__, Subject.__table__
    query = select(e, s.c.uscc.label("subject_uscc"), s.c.name.label("subject_name"),
                   s.c.kind.label("subject_kind")).join(s, s.c.id == e.c.subject_id) \
        .where(workflow_entry_active(day))
    if kinds is not None:
        query = query.where(e.c.kind_code.in_(list(kinds)))
    if subject_ids is not None:
        query = query.where(e.c.subject_id.in_(list(subject_ids)))
    query = query.order_by(e.c.listed_on.desc(), e.c.id.desc())
    return list(conn.execute(query if limit is None else query.limit(limit)))


def _data_rows(conn: Connection, day: date, *, names: Sequence[str] | None = None,
               subject_ids: Sequence[int] | None = None, limit: int | None = None) -> list[Any]:
    if names is None and limit is None and subject_ids is not None:
        return list(conn.execute(_by_subject(is_sqlite(conn))[1],
                                 {"day": day, "day_iso": day.isoformat(), "ids": list(subject_ids)}))
    r, s = Record.__table__, Subject.__table__
    query = select(r.c.id, r.c.subject_id, r.c.doc_no, r.c.decision_date, r.c.department,
                   r.c.payload, s.c.uscc.label("subject_uscc"), s.c.name.label("subject_name"),
                   s.c.kind.label("subject_kind")).join(s, s.c.id == r.c.subject_id) \
        .where(_data_active(conn, day))
    if names is not None:
        query = query.where(_json_text(conn, r.c.payload, "list_kind").in_(list(names)))
    if subject_ids is not None:
        query = query.where(r.c.subject_id.in_(list(subject_ids)))
    query = query.order_by(r.c.decision_date.desc(), r.c.id.desc())
    return list(conn.execute(query if limit is None else query.limit(limit)))


def _from_workflow(row: Any, kind: ListKind, public: bool) -> dict[str, Any]:
    return {"kind": kind.code, "kind_name": kind.name, "list_type": kind.list_type,
            "authority": row.authority, "doc_no": row.doc_no, "basis": mask_ids_in_text(row.basis),
            "listed_on": row.listed_on.isoformat(), "ends_on": iso(row.ends_on),
            "source": "workflow", "entry_id": row.id, "record_id": row.record_id,
            "publicity": kind.publicity, "subject_id": row.subject_id,
            "subject": _subject_out(row, public), "ref": f"L{row.id}",
            "repair": kind.repair}


def _from_data(row: Any, kind: ListKind, payload: dict[str, Any], public: bool) -> dict[str, Any]:
    return {"kind": kind.code, "kind_name": kind.name, "list_type": kind.list_type,
            "authority": payload.get("authority") or kind.authority, "doc_no": row.doc_no,
            # a listing's basis is free text: a resident ID number in it is masked
            "basis": mask_ids_in_text(payload.get("basis") or str(kind.basis)),
            "listed_on": row.decision_date.isoformat(), "ends_on": payload.get("ends_on") or None,
            "source": "data", "entry_id": None, "record_id": row.id,
            "publicity": kind.publicity, "subject_id": row.subject_id,
            "subject": _subject_out(row, public), "ref": f"R{row.id}", "repair": kind.repair}


def _entries(conn: Connection, day: date, *, kinds: Sequence[ListKind] | None = None,
             subject_ids: Sequence[int] | None = None, limit: int | None = None,
             public: bool = False) -> list[dict[str, Any]]:
    """Active entries of both sources, newest listing first. Rows of a kind that is not (or no
    longer) usable are left out: nothing is listed without a basis."""
    table = current_kinds()
    codes = [k.code for k in kinds] if kinds is not None else None
    names = [k.name for k in kinds] if kinds is not None else None
    out: list[dict[str, Any]] = []
    for row in _workflow_rows(conn, day, kinds=codes, subject_ids=subject_ids, limit=limit):
        kind = table.kinds.get(row.kind_code)
        if kind is not None:
            out.append(_from_workflow(row, kind, public))
    for row in _data_rows(conn, day, names=names, subject_ids=subject_ids, limit=limit):
        payload = orjson.loads(row.payload)
        kind = table.by_name_or_code(str(payload.get("list_kind", "")))
        if kind is not None:
            out.append(_from_data(row, kind, payload, public))
    out.sort(key=lambda x: (x["listed_on"], x["source"], x["entry_id"] or x["record_id"]),
             reverse=True)
    return out if limit is None else out[:limit]


def active_entries(conn: Connection, subject_id: int, day: date) -> list[dict[str, Any]]:
    """The subject's entries active on `day`, both sources: kind (code), kind_name, list_type
    (red|black), authority, doc_no, listed_on, ends_on, source ("workflow"|"data"), publicity
    (public|shared), basis, entry_id / record_id."""
    return active_entries_many(conn, [subject_id], day).get(subject_id, [])


def active_entries_many(conn: Connection, subject_ids: Sequence[int],
                        day: date) -> dict[int, list[dict[str, Any]]]:
    """Active entries of many subjects at once (batch checks), by subject id; subjects with
    none are absent."""
    found: dict[int, list[dict[str, Any]]] = {}
    ids = list(dict.fromkeys(subject_ids))
    for start in range(0, len(ids), 500):
        for entry in _entries(conn, day, subject_ids=ids[start:start + 500]):
            found.setdefault(entry["subject_id"], []).append(entry)
    return found


def kind_entries(conn: Connection, kind: ListKind, day: date, *, limit: int, offset: int,
                 public: bool = True) -> list[dict[str, Any]]:
    """One list's active entries on `day`, paged (`limit` + `offset`), natural persons masked."""
    rows = _entries(conn, day, kinds=[kind], limit=offset + limit, public=public)
    return rows[offset:offset + limit]


def all_entries(conn: Connection, day: date, kind: ListKind | None = None) -> list[dict[str, Any]]:
    return _entries(conn, day, kinds=[kind] if kind else None)


def public_kind(value: str) -> ListKind:
    """A kind whose list is published; shared-only and unusable kinds have no public list."""
    table = current_kinds()
    kind = table.by_name_or_code(value)
    if kind is None or kind.publicity != "public":
        raise NotFound(f"没有公开的名单“{value}”", code=ListsError.NO_PUBLIC_LIST)
    return kind


def _active_counts(conn: Connection, day: date) -> dict[str, int]:
    table = current_kinds()
    e = ListEntry.__table__
    counts: dict[str, int] = {}
    for code, n in conn.execute(select(e.c.kind_code, func.count()).where(workflow_entry_active(day))
                                .group_by(e.c.kind_code)):
        counts[code] = counts.get(code, 0) + int(n)
    r = Record.__table__
    name = _json_text(conn, r.c.payload, "list_kind")
    for value, n in conn.execute(select(name, func.count()).where(_data_active(conn, day))
                                 .group_by(name)):
        kind = table.by_name_or_code(str(value or ""))
        if kind is not None:
            counts[kind.code] = counts.get(kind.code, 0) + int(n)
    return counts



# --- for the set-based reads of other capabilities (evaluation, warnings) -------------------

def workflow_entries_on(day: Any) -> Any:
    """SQL (a select): the workflow entries (decided in the platform) in force on `day` — a date
    or a bound parameter of one — one row each: id, subject_id, kind_code, record_id (the record
    the listing rests on, if any), authority, listed_on. Evaluation counts them, warnings report
    them; `workflow_entry_active` is the one condition."""
    e = ListEntry.__table__
    return select(e.c.id, e.c.subject_id, e.c.kind_code, e.c.record_id, e.c.authority,
                  e.c.listed_on).where(workflow_entry_active(day))


def entry_subjects_after(watermark: Any) -> Any:
    """SQL (a select): the subjects of workflow entries stored after the entry id `watermark`
    (an integer or a bound parameter): what changed since a reader last saw that id."""
    e = ListEntry.__table__
    return select(e.c.subject_id).where(e.c.id > watermark)


def entry_watermark(conn: Connection) -> int:
    """The highest workflow entry id now (0 when there is none)."""
    e = ListEntry.__table__
    return int(conn.execute(select(func.coalesce(func.max(e.c.id), 0))).scalar_one())


def lock_entries(conn: Connection) -> None:
    """PostgreSQL: the workflow entries' SHARE lock in the caller's transaction. Taking it waits
    for every transaction writing entries, so `entry_watermark` read under it is settled: no
    entry with a lower id can still commit (evaluation's runs)."""
    conn.exec_driver_sql(f"LOCK TABLE {ListEntry.__tablename__} IN SHARE MODE")


def workflow_entries(conn: Connection, entry_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Entries the workflow decided, by id, active or not: doc_no and authority (how repair's
    queue names the entry a list-exit case is about)."""
    e = ListEntry.__table__
    ids = list(dict.fromkeys(entry_ids))
    found: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), 1000):
        for row in conn.execute(select(e.c.id, e.c.doc_no, e.c.authority)
                                .where(e.c.id.in_(ids[start:start + 1000]))):
            found[int(row.id)] = {"doc_no": row.doc_no, "authority": row.authority}
    return found
