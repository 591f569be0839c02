"""Plans on both engines over a small ingested and evaluated store: the draw stores its published
inputs and verify reproduces it — and fails after tampering; natural persons are never drawn;
results become `inspection` records through ingest; illegal transitions change nothing; a
department acts only on its own plans; every state change is audited."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, func, select, update

from xinyong.accounts.rules import Forbidden, Principal
from xinyong.core.audit import SYSTEM, AuditEvent
from xinyong.core.db import writing
from xinyong.core.errors import InvalidInput
from xinyong.evaluation import service as evaluation
from xinyong.ingest import service as ingest
from xinyong.ingest.models import Batch
from xinyong.sampling import service
from xinyong.sampling.models import SamplingDraw, SamplingPlan
from xinyong.subjects.models import Record, Subject

from ..factories import numbered_uscc, penalty, resident_id, write_csv

DEPT = "厦门市思明区市场监督管理局"
ORGS = 24


def offender(n: int, k: int, prefix: str = "91350203", **over: str) -> dict[str, str]:
    return penalty(**{"行政相对人名称": f"厦门市思明区第{n}测试贸易有限公司",
                      "行政相对人代码_1(统一社会信用代码)": numbered_uscc(n, prefix),
                      "行政处罚决定书文号": f"厦思市监罚〔2026〕{n}-{k}号",
                      "处罚决定日期": "2026-09-01", "处罚有效期": "2027-09-01", **over})


def build(engine: Engine, tmp_path: Path) -> None:
    """24 organisations with 0–3 penalties each, evaluated; a natural person and a 个体工商户
    penalised afterwards (so ungraded); a natural person is never in any population."""
    rows = [offender(n, k) for n in range(1, ORGS + 1) for k in range(n % 4 + 1)]
    ingest.ingest_file(engine, write_csv(tmp_path / "p.csv", rows), DEPT)
    evaluation.evaluate(engine, SYSTEM)
    person = penalty(**{"行政相对人名称": "张三", "行政相对人类别": "自然人",
                        "行政相对人代码_1(统一社会信用代码)": "", "证件类型": "身份证",
                        "证件号码": resident_id(), "行政处罚决定书文号": "厦思市监罚〔2026〕P1号",
                        "处罚决定日期": "2026-09-01", "处罚有效期": "2027-09-01"})
    shop = offender(90, 0, "92350203", **{"行政相对人类别": "个体工商户",
                                          "行政相对人名称": "思明区某某小吃店"})
    ingest.ingest_file(engine, write_csv(tmp_path / "q.csv", [person, shop]), DEPT)


def raw(**over: Any) -> dict[str, Any]:
    plan: dict[str, Any] = {"name": "2026年第四季度抽查", "department": DEPT, "base_ratio": "0.5",
                            "inspectors": ["张一", "李二", "王三", "赵四"], "inspectors_per_subject": 2}
    plan.update(over)
    return plan


def drawn(engine: Engine, **over: Any) -> dict[str, Any]:
    return service.create_and_draw(engine, SYSTEM, raw(**over))


def actions(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [a for a in conn.execute(select(AuditEvent.action).order_by(AuditEvent.id)).scalars()
                if a.startswith("sampling.")]


def test_a_draw_is_published_reproducible_and_natural_persons_never_appear(engine: Engine,
                                                                          tmp_path: Path) -> None:
    build(engine, tmp_path)
    result = drawn(engine, seed="seed-2026")
    with engine.connect() as conn:
        inputs = service.published_inputs(conn, result["plan"])
        natural = conn.execute(select(Subject.id).where(Subject.kind == "natural_person")).all()
        assert service.verify(conn, result["plan"]).ok
    assert natural, "the store has a natural person"
    codes = [u for u, _ in inputs["population"]]
    assert codes == sorted(codes) and len(codes) == ORGS + 1  # 24 organisations + the 个体工商户
    assert dict(inputs["population"])[numbered_uscc(90, "92350203")] is None  # not graded (yet)
    grades = {g for _, g in inputs["population"]}
    assert grades - {None} and grades <= {"A", "B", "C", "D", None}
    assert inputs["seed"] == "seed-2026" and inputs["sample"] == result["sample"]
    assert [d.as_dict() for d in service.rerun(inputs)] == result["sample"]
    # the same store and seed give the same sample; another seed another one
    assert drawn(engine, seed="seed-2026")["sample"] == result["sample"]
    assert drawn(engine, seed="seed-2027")["sample"] != result["sample"]
    # without a seed one is generated with `secrets` and published
    fresh = drawn(engine)
    assert len(fresh["seed"]) == 2 * service.SEED_BYTES
    with engine.connect() as conn:
        assert service.plan_view(conn, fresh["plan"])["seed_generated"] is True
    assert actions(engine) == ["sampling.plan_created", "sampling.drawn"] * 4


def test_verify_fails_after_tampering_with_the_sample_the_population_or_both_hashes(
        engine: Engine, tmp_path: Path) -> None:
    build(engine, tmp_path)
    plan_id = drawn(engine, seed="tamper")["plan"]
    d, p = SamplingDraw.__table__, SamplingPlan.__table__

    def verify() -> service.Verification:
        with engine.connect() as conn:
            return service.verify(conn, plan_id)

    with writing(engine) as conn:
        original = conn.execute(select(p.c.inputs, p.c.population_sha256).where(p.c.id == plan_id)).one()
        first = conn.execute(select(d.c.id, d.c.inspectors).where(d.c.plan_id == plan_id)
                             .order_by(d.c.position).limit(1)).one()
        conn.execute(update(d).where(d.c.id == first.id).values(inspectors='["某人", "另一人"]'))
    v = verify()
    assert not v.ok and "重新抽取的结果与公布的样本不同" in v.reason
    with writing(engine) as conn:
        conn.execute(update(d).where(d.c.id == first.id).values(inspectors=first.inspectors))
    assert verify().ok
    inputs = orjson.loads(original.inputs)
    uscc, grade = inputs["population"][0]
    inputs["population"][0] = [uscc, "A" if grade != "A" else "D"]
    with writing(engine) as conn:
        conn.execute(update(p).where(p.c.id == plan_id).values(inputs=orjson.dumps(inputs).decode()))
    assert "名录与公布的 SHA-256 不符" in verify().reason
    from xinyong.sampling import rules
    with writing(engine) as conn:  # a consistent forgery of the table is caught by the audit log
        conn.execute(update(p).where(p.c.id == plan_id).values(
            population_sha256=rules.population_digest([(u, g) for u, g in inputs["population"]])))
    assert "审计日志" in verify().reason


def test_results_become_inspection_records_and_illegal_steps_change_nothing(engine: Engine,
                                                                            tmp_path: Path) -> None:
    build(engine, tmp_path)
    plan = service.parse_plan(raw(seed="results"))
    with writing(engine) as conn:
        plan_id = service.create_plan(conn, SYSTEM, plan)
    with pytest.raises(InvalidInput) as caught:
        service.record_result(engine, SYSTEM, plan_id, numbered_uscc(1), "no_problem",
                              inspected_on=date.today())
    assert caught.value.code == "plan_not_drawn"
    with writing(engine) as conn:
        sample = service.draw_plan(conn, SYSTEM, plan_id)["sample"]
    with pytest.raises(InvalidInput) as caught, writing(engine) as conn:
        service.draw_plan(conn, SYSTEM, plan_id)
    assert caught.value.code == "plan_not_open"
    with pytest.raises(InvalidInput) as caught, writing(engine) as conn:
        service.cancel(conn, SYSTEM, plan_id, "不再需要")
    assert caught.value.code == "plan_not_open"
    target = sample[0]["subject"]
    outsider = next(numbered_uscc(n) for n in range(1, ORGS + 1)
                    if numbered_uscc(n) not in {s["subject"] for s in sample})
    for uscc, outcome, findings, code in [
            (outsider, "no_problem", None, "not_in_sample"),
            (target, "shrugged", None, "unknown_outcome"),
            (target, "rectification", " ", "findings_required")]:
        with pytest.raises(InvalidInput) as caught:
            service.record_result(engine, SYSTEM, plan_id, uscc, outcome, inspected_on=date.today(),
                                  findings=findings)
        assert caught.value.code == code
    done = service.record_result(engine, SYSTEM, plan_id, target, "rectification",
                                 findings="未公示食品经营许可证", inspected_on=date.today())
    assert done["outcome_name"] == "发现问题已责令整改" and done["inspectors"] == sample[0]["inspectors"]
    with pytest.raises(InvalidInput) as caught:
        service.record_result(engine, SYSTEM, plan_id, target, "no_problem", inspected_on=date.today())
    assert caught.value.code == "result_exists"
    with engine.connect() as conn:
        records = conn.execute(select(Record.payload, Record.department)
                               .join(Subject, Subject.id == Record.subject_id)
                               .where(Record.item_code == "inspection", Subject.uscc == target)).all()
        view = service.plan_view(conn, plan_id, public=True)
    assert len(records) == 1 and records[0].department == DEPT
    payload = orjson.loads(records[0].payload)
    assert payload["outcome"] == "发现问题已责令整改" and payload["findings"] == "未公示食品经营许可证"
    assert view["results"] == 1 and all("grade" not in s for s in view["sample"])
    assert actions(engine) == ["sampling.plan_created", "sampling.drawn", "sampling.result_recorded"]


def test_scope_filters_and_cancelling_an_open_plan(engine: Engine, tmp_path: Path) -> None:
    build(engine, tmp_path)
    only_shops = drawn(engine, seed="s", base_ratio="1", scope={"kinds": ["individual_business"]})
    assert [s["subject"] for s in only_shops["sample"]] == [numbered_uscc(90, "92350203")]
    elsewhere = drawn(engine, seed="s", base_ratio="1", scope={"districts": ["350206"]})
    assert elsewhere["sample"] == []
    with writing(engine) as conn:
        plan_id = service.create_plan(conn, SYSTEM, service.parse_plan(raw()))
        service.cancel(conn, SYSTEM, plan_id, "计划调整")
        assert service.plan_view(conn, plan_id)["status"] == "cancelled"
        with pytest.raises(InvalidInput):
            service.draw_plan(conn, SYSTEM, plan_id)


def test_a_department_acts_only_on_its_own_plans(engine: Engine, tmp_path: Path) -> None:
    build(engine, tmp_path)
    plan_id = drawn(engine, seed="own")["plan"]
    other = Principal("other", "reporter", "厦门市湖里区市场监督管理局", frozenset({"sampling.manage"}))
    own = Principal("own", "reporter", DEPT, frozenset({"sampling.manage"}))
    with engine.connect() as conn:
        assert service.plan_view(conn, plan_id, principal=own)["id"] == plan_id
        with pytest.raises(Forbidden):
            service.plan_view(conn, plan_id, principal=other)
        with pytest.raises(Forbidden):
            service.published_inputs(conn, plan_id, principal=other)
    with pytest.raises(Forbidden):
        service.department_for(other, DEPT)
    assert service.department_for(own, None) == DEPT


def test_verify_fails_when_the_published_ratios_or_plan_parameters_are_altered(engine: Engine,
                                                                                tmp_path: Path) -> None:
    build(engine, tmp_path)
    plan_id = drawn(engine, seed="ratios", base_ratio="0.2")["plan"]
    p = SamplingPlan.__table__

    def verify() -> service.Verification:
        with engine.connect() as conn:
            return service.verify(conn, plan_id)

    with engine.connect() as conn:
        original = conn.execute(select(p.c.inputs, p.c.parameters).where(p.c.id == plan_id)).one()
        event = conn.execute(select(AuditEvent.detail)
                             .where(AuditEvent.action == "sampling.drawn")).scalar_one()
    detail = orjson.loads(event)
    assert detail["ratios"]["D"] == "0.8" and len(detail["parameters_sha256"]) == 64
    assert verify().ok
    # the published plan says D × 4, but D × 1 is what it claims afterwards: caught
    parameters = orjson.loads(original.parameters)
    parameters["multipliers"]["D"] = "1"
    with writing(engine) as conn:
        conn.execute(update(p).where(p.c.id == plan_id).values(parameters=orjson.dumps(parameters).decode()))
    v = verify()
    assert not v.ok and "计划参数" in v.reason
    # ratios altered consistently with altered parameters (and the audit hash left): still caught
    inputs = orjson.loads(original.inputs)
    inputs["ratios"]["D"] = "0.2"
    with writing(engine) as conn:
        conn.execute(update(p).where(p.c.id == plan_id).values(inputs=orjson.dumps(inputs).decode()))
    assert not verify().ok
    # parameters restored, ratios still altered: the ratios no longer follow from the parameters
    with writing(engine) as conn:
        conn.execute(update(p).where(p.c.id == plan_id).values(parameters=original.parameters))
    v = verify()
    assert not v.ok and "比例与公开的计划参数不符" in v.reason and "D" in v.reason
    with writing(engine) as conn:
        conn.execute(update(p).where(p.c.id == plan_id).values(inputs=original.inputs))
    assert verify().ok


def test_exporting_the_inputs_with_grades_is_an_audited_read(engine: Engine, tmp_path: Path) -> None:
    build(engine, tmp_path)
    plan_id = drawn(engine, seed="read")["plan"]
    with writing(engine) as conn:
        service.published_inputs(conn, plan_id, reader=SYSTEM)
    with engine.connect() as conn:
        assert service.verify(conn, plan_id).ok  # verifying is not a read by a person
        row = conn.execute(select(AuditEvent.object_id, AuditEvent.detail)
                           .where(AuditEvent.action == "sampling.inputs_read")).one()
    assert row.object_id == str(plan_id) and orjson.loads(row.detail)["population"] == ORGS + 1


def test_a_retry_after_the_result_was_lost_reuses_the_record_instead_of_sending_it_again(
        engine: Engine, tmp_path: Path) -> None:
    """The record is ingested, then the result stored in a second transaction; when that second
    step never happened the retry completes it without a second batch or record version."""
    build(engine, tmp_path)
    plan_id = drawn(engine, seed="retry")["plan"]
    with engine.connect() as conn:
        row = service._plan_row(conn, plan_id)
        d, s = SamplingDraw.__table__, Subject.__table__
        target = conn.execute(select(d, s.c.name, s.c.kind).join(s, s.c.id == d.c.subject_id)
                              .where(d.c.plan_id == plan_id).order_by(d.c.position).limit(1)).one()
    outcome = service.current_config().outcomes["rectification"]
    names = tuple(orjson.loads(target.inspectors))
    # the first attempt: its record went through ingest, its result row was lost
    first = service._ingest_record(engine, SYSTEM, row, target, outcome, "未公示许可证", date.today(),
                                   names, date.today())
    done = service.record_result(engine, SYSTEM, plan_id, target.uscc, "rectification",
                                 findings="未公示许可证", inspected_on=date.today())
    assert done["batch"] == first.batch
    with engine.connect() as conn:
        versions = conn.execute(select(Record.version, Record.batch_id).where(
            Record.item_code == "inspection", Record.subject_id == target.subject_id)).all()
        batches = conn.execute(select(func.count()).select_from(Batch).where(
            Batch.item_code == "inspection")).scalar_one()
    assert versions == [(1, first.batch)] and batches == 1
    assert actions(engine)[-1] == "sampling.result_recorded"


def test_a_resident_id_written_into_findings_is_masked_where_published(engine: Engine,
                                                                        tmp_path: Path) -> None:
    build(engine, tmp_path)
    with writing(engine) as conn:
        plan_id = service.create_plan(conn, SYSTEM, service.parse_plan(raw(seed="masked")))
        target = service.draw_plan(conn, SYSTEM, plan_id)["sample"][0]["subject"]
    number = resident_id(seq="777")
    service.record_result(engine, SYSTEM, plan_id, target, "rectification",
                          findings=f"现场负责人（身份证号码{number}）未能出示许可证",
                          inspected_on=date.today())
    with engine.connect() as conn:
        public = service.plan_view(conn, plan_id, public=True)
        own = service.plan_view(conn, plan_id)
    [published] = [s["result"]["findings"] for s in public["sample"] if s["result"]]
    assert number not in published and f"350***********{number[-4:]}" in published
    assert [s["result"]["findings"] for s in own["sample"] if s["result"]] == [
        f"现场负责人（身份证号码{number}）未能出示许可证"]  # the deciding department's own view


def test_the_verbs_open_their_own_transaction_and_decide_the_department_once(engine: Engine,
                                                                             tmp_path: Path) -> None:
    """Given the engine, each verb commits its write with its audit event; given a plain read
    connection it refuses to write. A department account makes, lists and reads only its own
    department's plans: `new_plan` and `plans` decide it from the principal."""
    build(engine, tmp_path)
    own = Principal("own", "reporter", DEPT, frozenset({"sampling.manage"}))
    other = Principal("other", "reporter", "厦门市湖里区市场监督管理局", frozenset({"sampling.manage"}))
    with pytest.raises(Forbidden) as refused:
        service.new_plan(engine, SYSTEM, other, raw(department=DEPT))
    assert refused.value.code == "other_department"
    assert actions(engine) == []
    plan_id = service.new_plan(engine, SYSTEM, own, {**raw(), "department": None})
    assert service.plans(engine, principal=own)[0]["department"] == DEPT
    assert service.plans(engine, principal=other) == []
    with pytest.raises(Forbidden):
        service.plans(engine, principal=other, department=DEPT)
    with engine.connect() as conn, pytest.raises(RuntimeError):
        service.draw_plan(conn, SYSTEM, plan_id)
    sample = service.draw_plan(engine, SYSTEM, plan_id, principal=own, seed="own")["sample"]
    view = service.plan_view(engine, plan_id, principal=own, reader=SYSTEM)
    assert [s["subject"] for s in view["sample"]] == [s["subject"] for s in sample]
    assert service.verify(engine, plan_id).ok
    service.published_inputs(engine, plan_id, principal=own, reader=SYSTEM)
    assert service.plan_view(engine, plan_id, public=True, reader=SYSTEM)["id"] == plan_id  # not audited
    with pytest.raises(InvalidInput) as refused_cancel:
        service.cancel(engine, SYSTEM, plan_id, "晚了", principal=own)
    assert refused_cancel.value.code == "plan_not_open"
    assert actions(engine) == ["sampling.plan_created", "sampling.drawn", "sampling.plan_read",
                               "sampling.inputs_read"]


def test_a_plan_naming_an_unknown_scorecard_is_refused_as_a_field_of_the_plan() -> None:
    with pytest.raises(InvalidInput) as caught:
        service.parse_plan(raw(scorecard="nope"))
    assert caught.value.code == "unknown_scorecard"
