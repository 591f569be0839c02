"""Random inspection plans (双随机一公开): the verbs and views.

A plan is a state machine: `created` → `drawn`, or `created` → `cancelled`. Creating, drawing,
cancelling and recording a result are each one transaction with their audit event
(`sampling.plan_created`, `sampling.drawn`, `sampling.cancelled`, `sampling.result_recorded`).
Anything else — drawing twice, cancelling a drawn plan, a result before the draw, for a subject
not drawn, or a second result for the same subject — is refused and changes nothing.

The draw reads the population in one query (subjects in scope, with their current grade under
the plan's scorecard), stores it with the seed as the published inputs, and runs the pure
`rules.draw` over them; `verify` runs it again from what was stored and compares it with the
sample stored and the hashes the audit event of the draw recorded.

A result flows back as a credit record (catalog item `inspection`) through ingest, as a
one-row file from the plan's department: the same validation, versioning and audit as any
department's data.

Each verb takes the engine (opening its own write transaction) or joins the caller's
(`core.db.transaction`), and writes its audit event; so do the supervisors' readings that
show grades (`plan_view` and `published_inputs` with a `reader`: `sampling.plan_read`,
`sampling.inputs_read`). A department-bound `Principal` acts on and reads only its own
department's plans, decided here for every edge (`department_for`, `_own`).
"""

from __future__ import annotations

import csv
import secrets
import tempfile
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from xinyong.accounts.rules import Forbidden, Principal
from xinyong.core import audit
from xinyong.core.audit import AuditEvent
from xinyong.core.db import Db, reading, transaction, utcnow
from xinyong.core.errors import CoreError, InvalidInput, NotFound
from xinyong.core.masking import mask_ids_in_text
from xinyong.core.ruledata import rule_paths
from xinyong.evaluation import service as evaluation
from xinyong.evaluation.error_codes import EvaluationError
from xinyong.ingest import service as ingest
from xinyong.sampling import rules
from xinyong.sampling.error_codes import SamplingError
from xinyong.sampling.events import SamplingEvent
from xinyong.sampling.models import SamplingDraw, SamplingPlan, SamplingResult
from xinyong.subjects.models import Record, Subject

ITEM = "inspection"
SEED_BYTES = 16
STATUS_NAMES = {"created": "待抽取", "drawn": "已抽取", "cancelled": "已撤销"}
CATEGORY = {"organisation": "法人及非法人组织", "individual_business": "个体工商户"}
FINDINGS_LIMIT = 5000


def current_config(data_dir: Path | None = None) -> rules.Config:
    """The shipped `sampling.yaml` with the locality's (`$XINYONG_DATA_DIR`) merged over it."""
    return rules.load_config(rule_paths(rules.FILE, data_dir))


def grade_names(scorecard: str) -> tuple[str, ...]:
    """The grades of a scorecard, best first; an unknown scorecard is evaluation's `NotFound`
    (`parse_plan` refuses it as a field of the plan)."""
    return tuple(g.code for g in evaluation.grade_scale(scorecard))


def parse_plan(raw: Mapping[str, Any]) -> rules.Plan:
    """A plan file's or form's fields, checked (see `rules.parse_plan`)."""
    scorecard = raw.get("scorecard") or rules.DEFAULT_SCORECARD
    grades: tuple[str, ...] = ()
    if isinstance(scorecard, str) and rules.SCORECARD.fullmatch(scorecard):
        try:
            grades = grade_names(scorecard)
        except NotFound as exc:  # a field of the plan, not a missing resource
            raise InvalidInput(f"抽查计划：{exc.message}", code=EvaluationError.UNKNOWN_SCORECARD) from exc
    return rules.parse_plan(raw, current_config(), grades)


# --- who may act for which department -----------------------------------------------------------

def department_for(principal: Principal, wanted: str | None) -> str | None:
    """The department a principal acts for: a department-bound principal only its own (None:
    any department, for the credit office without one)."""
    value = (wanted or "").strip() or None
    if principal.department is None:
        return value
    if value is not None and value != principal.department:
        raise Forbidden(f"只能制定和查看本单位（{principal.department}）的抽查计划，不能代 {value} 操作",
                        code=CoreError.OTHER_DEPARTMENT)
    return principal.department


def _own(principal: Principal, plan: Any) -> None:
    if principal.department is not None and plan.department != principal.department:
        raise Forbidden(f"抽查计划 {plan.id} 由 {plan.department} 制定，本单位（{principal.department}）"
                        "不能查看或操作", code=CoreError.OTHER_DEPARTMENT)


# --- verbs ----------------------------------------------------------------------------------------

def new_plan(db: Db, actor: audit.Actor, principal: Principal | None, raw: Mapping[str, Any]) -> int:
    """A plan from a form or a request, for the department the principal may act for
    (`department_for` its `department`; None: the operator, any department), checked
    (`parse_plan`) and stored (`create_plan`); returns its id."""
    fields = dict(raw)
    if principal is not None:
        fields["department"] = department_for(principal, raw.get("department"))
    return create_plan(db, actor, parse_plan(fields))


def create_plan(db: Db, actor: audit.Actor, plan: rules.Plan) -> int:
    """Store a checked plan (status `created`) and its audit event; returns its id."""
    with transaction(db) as conn:
        result = conn.execute(insert(SamplingPlan).values(
            name=plan.name, department=plan.department, scorecard=plan.scorecard, status="created",
            parameters=orjson.dumps(plan.parameters()).decode(), seed=plan.seed,
            created_at=utcnow(), created_by=actor.name[:128]))
        pk = result.inserted_primary_key
        assert pk is not None
        plan_id = int(pk[0])
        audit.record(conn, actor, SamplingEvent.PLAN_CREATED, "sampling_plan", plan_id,
                     detail={"name": plan.name, "department": plan.department, **plan.parameters(),
                             "seed": plan.seed})
    return plan_id


def _plan_row(conn: Connection, plan_id: int, *, lock: bool = False) -> Any:
    t = SamplingPlan.__table__
    query = select(t).where(t.c.id == plan_id)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound(f"没有编号为 {plan_id} 的抽查计划", code=SamplingError.UNKNOWN_PLAN)
    return row


def _open_plan(conn: Connection, plan_id: int, principal: Principal | None, refusal: str) -> Any:
    """The plan's row, locked, when it is still to be drawn and the principal's department
    may act on it; otherwise the refusal (what cannot be done) after its status."""
    row = _plan_row(conn, plan_id, lock=True)
    if principal is not None:
        _own(principal, row)
    if row.status != "created":
        raise InvalidInput(f"抽查计划 {plan_id} {STATUS_NAMES[row.status]}，{refusal}",
                           code=SamplingError.PLAN_NOT_OPEN)
    return row


def stored_plan(row: Any) -> rules.Plan:
    """A stored plan's parameters as a `rules.Plan` (as checked when it was created)."""
    p = orjson.loads(row.parameters)
    return rules.Plan(
        p["name"], p["department"], p["scorecard"], tuple(p["scope"]["industries"]),
        tuple(p["scope"]["districts"]), tuple(p["scope"]["kinds"]), Decimal(p["base_ratio"]),
        {g: Decimal(m) for g, m in p["multipliers"].items()}, Decimal(p["ungraded_multiplier"]),
        Decimal(p["cap"]), tuple(p["inspectors"]), int(p["inspectors_per_subject"]), row.seed)


@dataclass(frozen=True)
class Member:
    subject_id: int
    uscc: str
    grade: str | None


def population(conn: Connection, plan: rules.Plan) -> list[Member]:
    """The subjects in the plan's scope with their current grade under its scorecard, in USCC
    order, in one query. Natural persons are never in it, whatever the scope says; subjects
    without a USCC cannot be keyed by one and are left out (docs/sampling.md). With an
    industry scope only graded subjects qualify: the industry is known from the evaluation."""
    s, e = Subject.__table__, evaluation.current_results(plan.scorecard)
    where = [s.c.kind.in_(plan.kinds), s.c.kind != "natural_person", s.c.uscc.is_not(None)]
    if plan.districts:
        where.append(s.c.region.in_(plan.districts))
    if plan.industries:
        where.append(e.c.industry.in_(plan.industries))
    rows = conn.execute(
        select(s.c.id, s.c.uscc, e.c.grade)
        .select_from(s.outerjoin(e, e.c.subject_id == s.c.id))
        .where(*where)).all()
    # Sorted here, not by the database: the order must be the bytes' order on every engine.
    seen: dict[str, Member] = {}
    for r in sorted(rows, key=lambda r: (r.uscc, r.id)):
        seen.setdefault(r.uscc, Member(int(r.id), r.uscc, r.grade))
    return list(seen.values())


def draw_plan(db: Db, actor: audit.Actor, plan_id: int, *, principal: Principal | None = None,
              seed: str | None = None) -> dict[str, Any]:
    """Draw a `created` plan: take the population, fix the seed (the plan's, the one given, or
    a new random one from `secrets`), store the published inputs and the sample, audit.
    Returns `{"plan", "seed", "sample": [{"subject", "grade", "inspectors"}]}`."""
    with transaction(db) as conn:
        row = _open_plan(conn, plan_id, principal, "不能再次抽取")
        plan = stored_plan(row)
        if seed is not None and not rules.SEED.fullmatch(seed):
            raise InvalidInput("随机种子应为 1 到 128 个英文字母、数字或 _ . -", code=SamplingError.BAD_SEED)
        if seed is not None and plan.seed is not None and seed != plan.seed:
            raise InvalidInput(f"抽查计划 {plan_id} 已公布随机种子 {plan.seed}，不能换用其他种子",
                               code=SamplingError.SEED_FIXED)
        generated = plan.seed is None and seed is None
        used = plan.seed or seed or secrets.token_hex(SEED_BYTES)
        members = population(conn, plan)
        pairs = [(m.uscc, m.grade) for m in members]
        ratios = plan.ratios()
        sample = rules.draw(pairs, used, ratios, plan.inspectors, plan.inspectors_per_subject)
        ids = {m.uscc: m.subject_id for m in members}
        published_ratios = {g: str(r) for g, r in ratios.items()}
        inputs = {"algorithm": rules.ALGORITHM, "ratios": published_ratios,
                  "population": [[u, g] for u, g in pairs]}
        population_sha, sample_sha = rules.population_digest(pairs), rules.sample_digest(sample)
        conn.execute(update(SamplingPlan).where(SamplingPlan.id == plan_id).values(
            status="drawn", seed=used, seed_generated=generated, drawn_at=utcnow(),
            drawn_by=actor.name[:128], inputs=orjson.dumps(inputs).decode(),
            population_size=len(pairs), population_sha256=population_sha, sample_sha256=sample_sha))
        if sample:
            conn.execute(insert(SamplingDraw), [
                {"plan_id": plan_id, "position": i, "subject_id": ids[d.uscc], "uscc": d.uscc,
                 "grade": d.grade, "inspectors": orjson.dumps(list(d.inspectors)).decode()}
                for i, d in enumerate(sample)])
        audit.record(conn, actor, SamplingEvent.DRAWN, "sampling_plan", plan_id, detail={
            "seed": used, "seed_generated": generated, "algorithm": rules.ALGORITHM,
            "parameters_sha256": rules.parameters_digest(plan.parameters()), "ratios": published_ratios,
            "population": len(pairs),
            "population_sha256": population_sha, "sampled": len(sample), "sample_sha256": sample_sha,
            "strata": rules.stratum_counts(pairs, sample)})
        return {"plan": plan_id, "seed": used, "sample": [d.as_dict() for d in sample]}


def create_and_draw(db: Db, actor: audit.Actor, raw: Mapping[str, Any]) -> dict[str, Any]:
    """A plan file's plan created and drawn at once, in one transaction (`xinyong sampling
    draw PLAN_FILE`)."""
    plan = parse_plan(raw)
    with transaction(db) as conn:
        plan_id = create_plan(conn, actor, plan)
        return draw_plan(conn, actor, plan_id)


def cancel(db: Db, actor: audit.Actor, plan_id: int, reason: str, *,
           principal: Principal | None = None) -> None:
    """Withdraw a plan before its draw, with a reason; a drawn plan stays as published."""
    with transaction(db) as conn:
        _open_plan(conn, plan_id, principal, "只有待抽取的计划可以撤销")
        text = reason.strip()
        if not text:
            raise InvalidInput("请说明撤销理由", code=CoreError.REASON_REQUIRED)
        conn.execute(update(SamplingPlan).where(SamplingPlan.id == plan_id).values(
            status="cancelled", cancelled_at=utcnow(), cancel_reason=text[:2000]))
        audit.record(conn, actor, SamplingEvent.CANCELLED, "sampling_plan", plan_id,
                     detail={"reason": text[:2000]})


def record_result(engine: Engine, actor: audit.Actor, plan_id: int, uscc: str, outcome: str, *,
                  inspected_on: date, findings: str | None = None,
                  inspectors: Sequence[str] | None = None, principal: Principal | None = None,
                  today: date | None = None) -> dict[str, Any]:
    """Record the inspection of one sampled subject; it becomes an `inspection` credit record
    through ingest (a one-row file from the plan's department), then the result and its audit
    event are stored with the batch that carried it. `inspectors` defaults to those assigned.
    Returns the result as `plan_view` shows it."""
    today = today or date.today()
    config = current_config()
    code = (uscc or "").strip().upper()
    with reading(engine) as conn:
        row = _plan_row(conn, plan_id)
        if principal is not None:
            _own(principal, row)
        if row.status != "drawn":
            raise InvalidInput(f"抽查计划 {plan_id} {STATUS_NAMES[row.status]}，抽取后才能登记检查结果",
                               code=SamplingError.PLAN_NOT_DRAWN)
        d, s = SamplingDraw.__table__, Subject.__table__
        drawn = conn.execute(select(d, s.c.name, s.c.kind).join(s, s.c.id == d.c.subject_id)
                             .where(d.c.plan_id == plan_id, d.c.uscc == code)).first()
        if drawn is None:
            raise InvalidInput(f"{code or '（空）'} 不是抽查计划 {plan_id} 抽中的检查对象",
                               code=SamplingError.NOT_IN_SAMPLE)
        if _has_result(conn, plan_id, drawn.subject_id):
            raise _exists(plan_id, code)
    found = config.outcomes.get(outcome)
    if found is None:
        raise InvalidInput("检查结果（outcome）应为 " + "、".join(
            f"{o.code}（{o.name}）" for o in config.outcomes.values()) + f" 之一，而不是 {outcome!r}",
            code=CoreError.UNKNOWN_OUTCOME)
    note = (findings or "").strip() or None
    if found.findings_required and not note:
        raise InvalidInput(f"检查结果为“{found.name}”时须写明发现的问题（findings）",
                           code=SamplingError.FINDINGS_REQUIRED)
    if note is not None and len(note) > FINDINGS_LIMIT:
        raise InvalidInput(f"发现的问题不能超过{FINDINGS_LIMIT}个字符", code=CoreError.TOO_LONG)
    if inspected_on > today or inspected_on < row.drawn_at.date():
        raise InvalidInput(f"检查日期 {inspected_on} 应在抽取日 {row.drawn_at.date()} 与今天 {today} 之间",
                           code=CoreError.BAD_DATE)
    names = tuple(i.strip() for i in (inspectors or ()) if i and i.strip()) or tuple(
        orjson.loads(drawn.inspectors))
    if any(len(n) > rules.INSPECTOR_LIMIT for n in names):
        raise InvalidInput(f"检查人员姓名或编号不能超过{rules.INSPECTOR_LIMIT}个字符",
                           code=SamplingError.BAD_INSPECTORS)
    # The record is ingested in ingest's own transaction, the result stored in a second one. If
    # the second never happened (a crash, a lost connection), the record of the first attempt
    # is still current: a retry with the same result reuses it instead of sending the same
    # 检查编号 again; a retry with another result corrects it (a new version, through ingest).
    batch = _earlier_record(engine, row, drawn, found, note, inspected_on, names)
    if batch is None:
        batch = _ingest_record(engine, actor, row, drawn, found, note, inspected_on, names, today).batch
    try:
        with transaction(engine) as conn:
            if _has_result(conn, plan_id, drawn.subject_id):
                raise _exists(plan_id, code)
            conn.execute(insert(SamplingResult).values(
                plan_id=plan_id, subject_id=drawn.subject_id, outcome=found.code, findings=note,
                inspected_on=inspected_on, inspectors=orjson.dumps(list(names)).decode(),
                batch_id=batch, recorded_at=utcnow(), recorded_by=actor.name[:128]))
            audit.record(conn, actor, SamplingEvent.RESULT_RECORDED, "sampling_plan", plan_id,
                         subject_id=drawn.subject_id, detail={
                             "uscc": code, "outcome": found.code, "inspected_on": inspected_on.isoformat(),
                             "inspectors": list(names), "batch": batch})
    except IntegrityError as exc:  # a concurrent result for the same subject won the race
        raise _exists(plan_id, code) from exc
    return {"plan": plan_id, "subject": code, "outcome": found.code, "outcome_name": found.name,
            "findings": note, "inspected_on": inspected_on.isoformat(), "inspectors": list(names),
            "batch": batch}


def _earlier_record(engine: Engine, plan: Any, drawn: Any, outcome: rules.Outcome, findings: str | None,
                    inspected_on: date, inspectors: Sequence[str]) -> int | None:
    """The batch of a current `inspection` record an earlier attempt left for this plan and
    subject with exactly this result (its result row never stored), or None."""
    rec = Record.__table__
    with reading(engine) as conn:
        found = conn.execute(select(rec.c.payload, rec.c.batch_id).where(
            rec.c.subject_id == drawn.subject_id, rec.c.item_code == ITEM,
            rec.c.department == plan.department, rec.c.doc_no == _inspection_no(plan.id, drawn.uscc),
            rec.c.status == "current")).first()
    if found is None:
        return None
    payload = orjson.loads(found.payload)
    same = (payload.get("outcome") == outcome.name and (payload.get("findings") or None) == findings
            and payload.get("inspected_on") == inspected_on.isoformat()
            and payload.get("inspectors") == "、".join(inspectors))
    return int(found.batch_id) if same else None


def _inspection_no(plan_id: int, uscc: str) -> str:
    """The 检查编号 of a plan's inspection of one subject: the key of its credit record."""
    return f"SJ{plan_id}-{uscc}"


def _has_result(conn: Connection, plan_id: int, subject_id: int) -> bool:
    r = SamplingResult.__table__
    return conn.execute(select(r.c.id).where(r.c.plan_id == plan_id, r.c.subject_id == subject_id)
                        ).first() is not None


def _exists(plan_id: int, uscc: str) -> InvalidInput:
    return InvalidInput(f"抽查计划 {plan_id} 已登记 {uscc} 的检查结果；检查结果不可修改",
                        code=SamplingError.RESULT_EXISTS)


def _ingest_record(engine: Engine, actor: audit.Actor, plan: Any, drawn: Any, outcome: rules.Outcome,
                   findings: str | None, inspected_on: date, inspectors: Sequence[str],
                   today: date) -> ingest.Receipt:
    """The result as an `inspection` record, through ingest; a row ingest returns is refused."""
    fields = {
        "检查对象名称": drawn.name, "检查对象类别": CATEGORY.get(drawn.kind, drawn.kind),
        "统一社会信用代码": drawn.uscc, "检查编号": _inspection_no(plan.id, drawn.uscc),
        "抽查计划": plan.name, "检查结果": outcome.name, "发现的问题": findings or "",
        "检查日期": inspected_on.isoformat(), "检查人员": "、".join(inspectors),
        "检查机关": plan.department,
    }
    with tempfile.TemporaryDirectory(prefix="xinyong-sampling-") as folder:
        path = Path(folder) / f"inspection-{plan.id}.csv"
        with path.open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(list(fields))
            w.writerow(list(fields.values()))
        receipt = ingest.ingest_file(engine, path, plan.department, kind=ITEM, received=today,
                                     actor=actor, filename=path.name)
    if receipt.rejected:
        reasons = "；".join(receipt.rejection_reasons) or "未通过校验"
        raise InvalidInput(f"检查结果未能形成信用记录（批次 {receipt.batch} 退回：{reasons}）",
                           code=SamplingError.RECORD_REJECTED)
    return receipt


# --- verification ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Verification:
    plan: int
    ok: bool
    reason: str
    sampled: int = 0
    population: int = 0


def _draw_event(conn: Connection, plan_id: int) -> dict[str, Any] | None:
    a = AuditEvent.__table__
    detail = conn.execute(select(a.c.detail).where(
        a.c.action == SamplingEvent.DRAWN, a.c.object_type == "sampling_plan",
        a.c.object_id == str(plan_id)).order_by(a.c.id).limit(1)).scalar_one_or_none()
    return None if detail is None else dict(orjson.loads(detail))


def rerun(inputs: Mapping[str, Any]) -> list[rules.Drawn]:
    """The draw re-run from published inputs (`published_inputs`), nothing else."""
    try:
        population = [(str(u), None if g is None else str(g)) for u, g in inputs["population"]]
        return rules.draw(population, str(inputs["seed"]), rules.inputs_ratios(inputs["ratios"]),
                          [str(i) for i in inputs["plan"]["inspectors"]],
                          int(inputs["plan"]["inspectors_per_subject"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"公开的抽取输入不完整或格式不对：{exc}", code=SamplingError.BAD_INPUTS) from exc


def ratio_mismatch(inputs: Mapping[str, Any]) -> str | None:
    """Why the ratios a draw used differ from those its published plan parameters give
    (min(cap, base × multiplier) per grade), or None when they are the same."""
    expected = rules.plan_ratios(inputs["plan"])
    used = rules.inputs_ratios(inputs["ratios"])
    if expected == used:
        return None
    wrong = sorted(g for g in set(expected) | set(used) if expected.get(g) != used.get(g))
    shown = "、".join(f"{g}：参数得 {expected.get(g, '无')}，抽取用 {used.get(g, '无')}" for g in wrong)
    return f"抽取所用的比例与公开的计划参数不符（{shown}）"


def verify(db: Db, plan_id: int) -> Verification:
    """Whether the published inputs reproduce the stored draw exactly: the population's hash;
    the plan's parameters and the ratios recomputed from them against those the draw used and
    the audit event of the draw recorded; the sample and its inspectors; and the hashes the
    audit event recorded. Anyone may ask: it shows no grade, so it is not an audited read."""
    with reading(db) as conn:
        row = _plan_row(conn, plan_id)
        if row.status != "drawn":
            return Verification(plan_id, False,
                                f"抽查计划 {plan_id} {STATUS_NAMES[row.status]}，没有可核验的抽取")
        inputs = _inputs(conn, row)
        event = _draw_event(conn, plan_id)
    return _verified(plan_id, inputs, event)


def _verified(plan_id: int, inputs: Mapping[str, Any], event: Mapping[str, Any] | None) -> Verification:
    """`verify`'s comparison of the published inputs with the draw's audit event."""
    pairs = [(u, g) for u, g in inputs["population"]]
    population_sha = rules.population_digest(pairs)
    if population_sha != inputs["population_sha256"]:
        return Verification(plan_id, False, "抽查对象名录与公布的 SHA-256 不符（名录被改动）",
                            population=len(pairs))
    if event is None:
        return Verification(plan_id, False, "审计日志中没有这次抽取的记录")
    if event.get("population_sha256") != population_sha or event.get("seed") != inputs["seed"]:
        return Verification(plan_id, False, "公开的名录或随机种子与抽取时审计日志记录的不符",
                            population=len(pairs))
    if event.get("parameters_sha256") != rules.parameters_digest(inputs["plan"]):
        return Verification(plan_id, False,
                            "公开的计划参数（比例、倍数、检查人员库等）与抽取时审计日志记录的不符",
                            population=len(pairs))
    mismatch = ratio_mismatch(inputs)
    if mismatch is None and event.get("ratios") != inputs["ratios"]:
        mismatch = "公开的抽查比例与抽取时审计日志记录的不符"
    if mismatch is not None:
        return Verification(plan_id, False, mismatch, population=len(pairs))
    again = rerun(inputs)
    stored = [rules.Drawn(s["subject"], s["grade"], tuple(s["inspectors"])) for s in inputs["sample"]]
    if again != stored:
        first = next((i for i, (a, b) in enumerate(zip(again, stored, strict=False)) if a != b),
                     min(len(again), len(stored)))
        return Verification(plan_id, False,
                            f"按公开的输入重新抽取的结果与公布的样本不同（自第 {first + 1} 个对象起；"
                            f"重抽 {len(again)} 个，公布 {len(stored)} 个）", len(stored), len(pairs))
    if rules.sample_digest(again) != event.get("sample_sha256"):
        return Verification(plan_id, False, "样本与抽取时审计日志记录的 SHA-256 不符",
                            len(stored), len(pairs))
    return Verification(plan_id, True, f"按公开的随机种子和名录重新抽取，得到完全相同的 {len(stored)} "
                        "个检查对象和检查人员", len(stored), len(pairs))


# --- views ------------------------------------------------------------------------------------

def _read(db: Db, audited: bool) -> AbstractContextManager[Connection]:
    """A view's connection: a write transaction when the reading is an audited event (its
    event is appended with it), a read connection otherwise."""
    return transaction(db) if audited else reading(db)


def published_inputs(db: Db, plan_id: int, *, principal: Principal | None = None,
                     reader: audit.Actor | None = None) -> dict[str, Any]:
    """Everything needed to re-run a drawn plan's draw outside the platform: the plan's
    parameters, the seed, the ratios, the population with each subject's grade and its
    SHA-256, and the sample as published. Grades are for supervisors (不公开): this document
    is given to departments and auditors, the public sees its hash — so a `reader` (every
    export through the API or CLI) is logged with `sampling.inputs_read` in the same
    transaction (SPEC §2.3); `verify` reads them without one. A department-bound `principal`
    reads only its own department's plans."""
    with _read(db, reader is not None) as conn:
        row = _plan_row(conn, plan_id)
        if principal is not None:
            _own(principal, row)
        if row.status != "drawn":
            raise InvalidInput(f"抽查计划 {plan_id} {STATUS_NAMES[row.status]}，还没有抽取输入",
                               code=SamplingError.PLAN_NOT_DRAWN)
        inputs = _inputs(conn, row)
        if reader is not None:
            audit.record(conn, reader, SamplingEvent.INPUTS_READ, "sampling_plan", plan_id, detail={
                "population": row.population_size, "population_sha256": row.population_sha256,
                "grades": True})
    return inputs


def _inputs(conn: Connection, row: Any) -> dict[str, Any]:
    """A drawn plan's published inputs (`published_inputs`), from its row and its sample."""
    plan_id = int(row.id)
    stored = orjson.loads(row.inputs)
    d = SamplingDraw.__table__
    sample = [{"subject": r.uscc, "grade": r.grade, "inspectors": orjson.loads(r.inspectors)}
              for r in conn.execute(select(d).where(d.c.plan_id == plan_id).order_by(d.c.position))]
    return {"plan_id": plan_id, "plan": orjson.loads(row.parameters), "seed": row.seed,
            "algorithm": f"{stored.get('algorithm', rules.ALGORITHM)}（见 docs/sampling.md）",
            "ratios": stored["ratios"],
            "population": stored["population"], "population_size": row.population_size,
            "population_sha256": row.population_sha256, "sample": sample,
            "sample_sha256": row.sample_sha256}


def _plan_out(row: Any, results: int, sampled: int) -> dict[str, Any]:
    p = orjson.loads(row.parameters)
    return {"id": row.id, "name": row.name, "department": row.department, "scorecard": row.scorecard,
            "status": row.status, "status_name": STATUS_NAMES[row.status], "scope": p["scope"],
            "base_ratio": p["base_ratio"], "multipliers": p["multipliers"],
            "ungraded_multiplier": p["ungraded_multiplier"], "cap": p["cap"],
            "inspectors": p["inspectors"], "inspectors_per_subject": p["inspectors_per_subject"],
            "seed": row.seed if row.status == "drawn" else None,
            "seed_generated": row.seed_generated,
            "created_at": row.created_at.replace(microsecond=0).isoformat(),
            "created_by": row.created_by,
            "drawn_at": None if row.drawn_at is None else row.drawn_at.replace(microsecond=0).isoformat(),
            "population_size": row.population_size, "population_sha256": row.population_sha256,
            "sample_sha256": row.sample_sha256, "sampled": sampled, "results": results,
            "cancel_reason": row.cancel_reason}


def plans(db: Db, *, principal: Principal | None = None, department: str | None = None,
          drawn_only: bool = False, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """Plans, newest first, with their counts of sampled subjects and results recorded; of
    `department`, or with a department-bound `principal` of its own department only
    (`department_for`: asking for another's is refused)."""
    if principal is not None:
        department = department_for(principal, department)
    t, d, r = SamplingPlan.__table__, SamplingDraw.__table__, SamplingResult.__table__
    sampled = select(func.count()).where(d.c.plan_id == t.c.id).scalar_subquery()
    recorded = select(func.count()).where(r.c.plan_id == t.c.id).scalar_subquery()
    query = select(t, sampled.label("n_sampled"), recorded.label("n_results"))
    if department is not None:
        query = query.where(t.c.department == department)
    if drawn_only:
        query = query.where(t.c.status == "drawn")
    with reading(db) as conn:
        rows = conn.execute(query.order_by(t.c.id.desc()).limit(limit).offset(offset)).all()
    return [_plan_out(row, int(row.n_results), int(row.n_sampled)) for row in rows]


def plan_view(db: Db, plan_id: int, *, principal: Principal | None = None,
              public: bool = False, reader: audit.Actor | None = None) -> dict[str, Any]:
    """One plan with its sample and results. `public` (一公开): only drawn plans, and no
    subject's grade (risk classes are for supervisors); natural persons never appear (they are
    never drawn). The supervisors' view shows each sampled subject's grade, so a `reader` is
    logged with `sampling.plan_read` in the same transaction (SPEC §2.3). A department-bound
    `principal` sees only its own department's plans."""
    audited = reader is not None and not public
    with _read(db, audited) as conn:
        view = _plan_view(conn, plan_id, principal, public)
        if reader is not None and audited:
            audit.record(conn, reader, SamplingEvent.PLAN_READ, "sampling_plan", plan_id,
                         detail={"sampled": len(view["sample"]), "grades": True})
    return view


def _plan_view(conn: Connection, plan_id: int, principal: Principal | None, public: bool) -> dict[str, Any]:
    row = _plan_row(conn, plan_id)
    if principal is not None:
        _own(principal, row)
    if public and row.status != "drawn":
        raise NotFound(f"没有编号为 {plan_id} 的已公布抽查计划", code=SamplingError.UNKNOWN_PLAN)
    config = current_config()
    d, r, s = SamplingDraw.__table__, SamplingResult.__table__, Subject.__table__
    rows = conn.execute(
        select(d.c.uscc, d.c.grade, d.c.inspectors, s.c.name, s.c.kind, r.c.outcome, r.c.findings,
               r.c.inspected_on, r.c.inspectors.label("result_inspectors"))
        .select_from(d.join(s, s.c.id == d.c.subject_id)
                     .outerjoin(r, and_(r.c.plan_id == d.c.plan_id, r.c.subject_id == d.c.subject_id)))
        .where(d.c.plan_id == plan_id, s.c.kind != "natural_person").order_by(d.c.position)).all()
    sample = []
    for x in rows:
        result = None if x.outcome is None else {
            "outcome": x.outcome, "outcome_name": config.outcomes[x.outcome].name
            if x.outcome in config.outcomes else x.outcome,
            # published (一公开): a resident ID number an inspector wrote in is masked
            "findings": mask_ids_in_text(x.findings) if public and x.findings else x.findings,
            "inspected_on": x.inspected_on.isoformat(), "inspectors": orjson.loads(x.result_inspectors)}
        item: dict[str, Any] = {"subject": x.uscc, "name": x.name, "inspectors": orjson.loads(x.inspectors),
                                "result": result}
        if not public:
            item["grade"] = x.grade
        sample.append(item)
    view = _plan_out(row, sum(1 for x in sample if x["result"]), len(sample))
    if not public:
        view["ratios"] = {g: str(v) for g, v in stored_plan(row).ratios().items()}
    view["sample"] = sample
    view["outcomes"] = [{"code": o.code, "name": o.name, "findings_required": o.findings_required}
                        for o in config.outcomes.values()]
    return view
