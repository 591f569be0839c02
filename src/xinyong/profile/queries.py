"""The subject profile's queries: what the portal's subject page, the staff history and
`xinyong subject show` present of one subject, gathered across capabilities — its records in
publicity with their catalog labels (publicity, catalog), the open objection and repair cases
on them (objections, repair), its list entries (lists), its grade (evaluation), and for staff
every version with the batch that brought it (ingest) and why it left publicity (publicity).

It only reads, and only through the owners' query functions (the `subject` and `record`
tables are the shared kernel). The reads that show non-public data append their audit event
(`read_history`, `show_with_evaluation`); nothing else is written."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import Connection, Date, bindparam, select

from xinyong.catalog.rules import Item
from xinyong.catalog.service import current_catalog
from xinyong.core import audit
from xinyong.core import uscc as uscc_rules
from xinyong.core.dates import iso
from xinyong.core.db import Db, transaction
from xinyong.core.errors import CoreError, InvalidInput, NotFound
from xinyong.core.masking import mask_id_number, mask_ids_in_text
from xinyong.evaluation import service as evaluation
from xinyong.ingest import service as ingest
from xinyong.lists import service as lists
from xinyong.objections import service as objections
from xinyong.publicity import rules as publicity_rules
from xinyong.publicity import service as publicity
from xinyong.repair import queries as repair
from xinyong.subjects import service as subjects
from xinyong.subjects.events import SubjectEvent
from xinyong.subjects.models import Record

KIND_LABELS = {"organisation": "法人和非法人组织", "individual_business": "个体工商户",
               "natural_person": "自然人"}
# The cases whose page a publicity stop links to (`history`), by the stop's case type.
CASE_PAGES = {objections.CASE_TYPE: "/objections/", repair.CASE_TYPE: "/repairs/"}



# Built once: the portal runs it on every subject page (building it cost more than running it).
@lru_cache(maxsize=1)
def _in_publicity_of_subject() -> Any:
    t = Record.__table__
    return (select(t).where(t.c.subject_id == bindparam("subject_id"), t.c.status == "current",
                            publicity.in_publicity(t, bindparam("day", type_=Date())))
            .order_by(t.c.decision_date.desc(), t.c.id.desc()))


def _public_subject_row(conn: Connection, code: str) -> Any:
    normal = uscc_rules.normalise(code)
    if len(normal) != uscc_rules.LENGTH:
        raise InvalidInput(f"“{code}”不是18位统一社会信用代码", code=CoreError.INVALID_USCC)
    subject = subjects.subject_by_code(conn, normal)
    # Natural persons have no public page: they are found only by a check with a basis.
    if subject is None or subject["kind"] == "natural_person":
        raise NotFound(f"没有统一社会信用代码为 {normal} 的主体", code=CoreError.NOT_FOUND)
    return subject


def _basic(conn: Connection, subject: Any) -> dict[str, Any]:
    return {
        "uscc": subject["uscc"], "name": subject["name"], "kind": subject["kind"],
        "kind_label": KIND_LABELS.get(subject["kind"], subject["kind"]),
        "region": subject["region"], "legal_rep": subject["legal_rep"],
        "former_names": subjects.former_names(conn, subject["id"], subject["name"]),
    }


def _labelled(item: Item | None, payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The record's fields in the order of its catalog item, with their labels, personal
    numbers masked, and resident ID numbers written into free text (a 违法事实 naming
    the person) masked too (fields the item does not know follow, unlabelled)."""
    fields = item.fields if item else ()
    out = [{"name": f.name, "label": f.label,
            "value": mask_id_number(payload[f.name]) if f.personal else _free(payload[f.name])}
           for f in fields if payload.get(f.name) not in (None, "")]
    known = {f.name for f in fields}
    out += [{"name": k, "label": k, "value": _free(v)} for k, v in payload.items()
            if k not in known and v not in (None, "") and k not in subjects.PERSONAL_FIELDS]
    return out


def _free(value: Any) -> Any:
    return mask_ids_in_text(value) if isinstance(value, str) else value


def public_view(conn: Connection, code: str, day: date) -> dict[str, Any]:
    """What the public may see of a subject on `day`: its basic information and the records
    in publicity that day (current versions only), personal numbers masked."""
    subject = _public_subject_row(conn, code)
    rows = conn.execute(_in_publicity_of_subject(),
                        {"subject_id": subject["id"], "day": day}).mappings().all()
    catalog = current_catalog()
    records = []
    markers = _markers(conn, [r["id"] for r in rows])
    for r in rows:
        item = catalog.item(r["item_code"])
        records.append({
            "markers": markers.get(r["id"], []),
            "id": r["id"], "kind": r["item_code"], "kind_name": item.name if item else r["item_code"],
            "doc_no": r["doc_no"], "decision_date": iso(r["decision_date"]),
            "department": r["department"],
            "publicity": {"tier": r["publicity_tier"], "start": iso(r["publicity_start"]),
                          "end": iso(r["publicity_end"])},
            "fields": _labelled(item, orjson.loads(r["payload"])),
        })
    return {"subject": _basic(conn, subject), "records": records, "as_of": day.isoformat(),
            "lists": _public_list_entries(conn, subject["id"], day)}


def _markers(conn: Connection, record_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The open objection and repair cases on each record, as the markers pages show
    ("异议处理中", "信用修复中") with the case to follow."""
    found: dict[int, list[dict[str, Any]]] = {}
    for kind, path, cases in (("objection", "/objections/", objections.open_cases(conn, record_ids)),
                              ("repair", "/repairs/", repair.open_cases(conn, record_ids))):
        for record_id, case in cases.items():
            found.setdefault(record_id, []).append({
                "kind": kind, "label": case["label"], "case_no": case["case_no"],
                "status": case["status"], "url": path + case["case_no"]})
    return found


def _public_list_entries(conn: Connection, subject_id: int, day: date) -> list[dict[str, Any]]:
    """The subject's list entries active on `day` that are published (not those only shared
    between authorities)."""
    return [{k: e[k] for k in ("kind", "kind_name", "list_type", "authority", "doc_no", "basis",
                               "listed_on", "ends_on", "ref", "repair")}
            for e in lists.active_entries(conn, subject_id, day) if e.get("publicity") == "public"]


def history(conn: Connection, code: str) -> dict[str, Any]:
    """Everything held about a subject, for staff: every version of every record, published
    or not, with the batch and person that submitted it. Not public data: `read_history`
    is the read with its audit event."""
    normal = uscc_rules.normalise(code)
    subject = subjects.subject_by_code(conn, normal) if len(normal) == uscc_rules.LENGTH else None
    if subject is None:
        raise NotFound(f"没有统一社会信用代码为 {code} 的主体", code=CoreError.NOT_FOUND)
    catalog = current_catalog()
    rules_now = publicity.current_rules(catalog)
    t = Record.__table__
    versions = list(conn.execute(select(t).where(t.c.subject_id == subject["id"])
                                 .order_by(t.c.item_code, t.c.department, t.c.doc_no, t.c.version))
                    .mappings())
    submitted = ingest.submissions(conn, {r["batch_id"] for r in versions})
    # every version came in a batch; one whose batch is not found is not shown (as the join did)
    rows = [(r, submitted[r["batch_id"]]) for r in versions if r["batch_id"] in submitted]
    # why each version left publicity early (objection, repair), with the case that decided it
    stops = publicity.stops(conn, [r["id"] for r, _ in rows])
    records = []
    for r, batch in rows:
        view = subjects.record_view(r)
        item = catalog.item(r["item_code"])
        payload = orjson.loads(r["payload"])
        end = r["publicity_end"]
        # why it entered publicity (tier and period) in the words of the rules in force now;
        # nothing new is stored for it, so an old record reads with today's wording
        reason = (publicity_rules.window(rules_now, item.publicity if item else None, payload,
                                         r["decision_date"], subject["kind"]).reason
                  if r["decision_date"] is not None else None)
        view.update(kind_name=item.name if item else r["item_code"],
                    submitted_by=batch["submitted_by"], submitted_at=batch["submitted_at"],
                    filename=batch["filename"],
                    fields=_labelled(item, payload),
                    publicity={"tier": r["publicity_tier"], "published": bool(r["published"]),
                               "start": iso(r["publicity_start"]),
                               "repair_from": iso(r["publicity_repair_from"]),
                               "end": iso(end),
                               "last_day": iso(end - timedelta(days=1)) if end else None,
                               "reason": reason},
                    stops=[{**s, "case_url": _case_url(s["case_type"], s["case_id"])}
                           for s in stops.get(r["id"], [])])
        records.append(view)
    basic = _basic(conn, subject)
    basic.update(id=subject["id"], reg_no=subject["reg_no"],
                 legal_rep_id_type=subject["legal_rep_id_type"],
                 legal_rep_id_number=mask_id_number(subject["legal_rep_id_number"]),
                 id_type=subject["id_type"], id_number=mask_id_number(subject["id_number"]))
    return {"subject": basic, "records": records}


def _case_url(case_type: str | None, case_id: str | None) -> str | None:
    """Where the case that stopped a record's publicity is followed (part of `history`)."""
    if not case_id or case_type not in CASE_PAGES:
        return None
    return CASE_PAGES[case_type] + case_id


def read_history(db: Db, reader: audit.Actor, code: str) -> dict[str, Any]:
    """`history` with its audited read (`subject.read_full`: non-public data), in one
    transaction."""
    with transaction(db) as conn:
        view = history(conn, code)
        audit.record(conn, reader, SubjectEvent.READ_FULL, "subject", view["subject"]["uscc"],
                     subject_id=view["subject"]["id"], detail={"records": len(view["records"])})
    return view


def show_with_evaluation(db: Db, reader: audit.Actor, code: str
                         ) -> tuple[dict[str, Any], evaluation.SubjectEvaluation | None]:
    """What `xinyong subject show` presents: the subject and every version of its records
    (`subjects.service.show`), and its evaluation, whose read is logged (SPEC §2.3: the score,
    grade and reasons are not public data) — in one transaction. Natural persons are never
    evaluated, so theirs is always None."""
    with transaction(db) as conn:
        result = subjects.show(conn, code)
        subject_id = int(result["subject"]["id"])
        found = evaluation.subject_evaluation(conn, subject_id)
        if found is not None:
            evaluation.record_read(conn, reader, subject_id, result["subject"]["uscc"])
    return result, found


def portal_figures(conn: Connection, day: date) -> dict[str, Any]:
    """The portal home's figures on `day`: records collected and departments reporting
    (ingest), records in publicity (publicity) — each counted by the capability that owns it."""
    found = ingest.collected(conn)
    return {"records": found["records"], "departments": found["departments"],
            "in_publicity": publicity.count_in_publicity(conn, day), "as_of": day}
