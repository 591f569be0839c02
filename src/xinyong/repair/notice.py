"""The 信用修复告知书: what a penalty record's repair notice says on a day — when repair may
be applied for and why, the materials, where to apply, the deadlines — as data for the page
and as plain text for the command line."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection

from xinyong.accounts.rules import Principal
from xinyong.core.errors import InvalidInput
from xinyong.repair import queries, rules
from xinyong.repair.error_codes import RepairError


def notice(conn: Connection, record_id: int, day: date) -> dict[str, Any]:
    """What the 信用修复告知书 of a penalty record says on `day`: the record, when repair may
    be applied for and why, the materials, where to apply, the deadlines."""
    repair_rules = queries.current_rules()
    brief = queries.record_brief(conn, record_id)
    if brief["item_code"] != "penalty":
        raise InvalidInput("信用修复告知书只针对行政处罚信息", code=RepairError.NOT_PENALTY)
    found = rules.eligibility(repair_rules, queries.state_of(conn, brief, day), day)
    return {
        "record": queries.record_view(brief), "subject": queries.subject_part(brief),
        "issued_on": day.isoformat(),
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


def notice_for(conn: Connection, principal: Principal, record_id: int, day: date) -> dict[str, Any]:
    """`notice` of a record the principal may learn exists (`queries.visible_record`)."""
    queries.visible_record(conn, principal, record_id)
    return notice(conn, record_id, day)
