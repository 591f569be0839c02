"""Builders for test inputs: valid codes and 双公示 rows, and files in every accepted format."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from xinyong.core.uscc import check_character, org_check_character

AUTHORITY = "11350200MB0000000X"


def make_uscc(prefix8: str = "91350203", body8: str = "MA2Y0000") -> str:
    first17 = prefix8 + body8 + org_check_character(body8)
    return first17 + check_character(first17)


def numbered_uscc(n: int, prefix8: str = "91350203") -> str:
    return make_uscc(prefix8, f"MA{n:06d}")


def resident_id(region: str = "350203", birth: str = "19800101", seq: str = "123") -> str:
    body = region + birth + seq
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]


AUTHORITY_USCC = make_uscc("11350200", "MB000000")
PENALTY_BODY = "厦门市思明区市场监督管理局"  # the deciding body and source unit penalty() names


def penalty(**over: Any) -> dict[str, str]:
    row = {
        "行政相对人名称": "厦门市思明区测试贸易有限公司",
        "行政相对人类别": "法人及非法人组织",
        "行政相对人代码_1(统一社会信用代码)": numbered_uscc(1),
        "法定代表人": "王五",
        "法定代表人证件类型": "身份证",
        "法定代表人证件号码": resident_id(),
        "行政处罚决定书文号": "厦思市监罚〔2025〕1号",
        "违法行为类型": "虚假宣传",
        "违法事实": "在商品包装上作虚假宣传",
        "处罚依据": "《中华人民共和国反不正当竞争法》第二十条",
        "处罚类别": "警告;罚款",
        "处罚内容": "警告，罚款2000元",
        "罚款金额（万元）": "0.2",
        "处罚决定日期": "2025-01-24",
        "处罚有效期": "2025-12-31",
        "处罚机关": PENALTY_BODY,
        "处罚机关统一社会信用代码": AUTHORITY_USCC,
        "数据来源单位": PENALTY_BODY,
        "数据来源单位统一社会信用代码": AUTHORITY_USCC,
    }
    row.update({k: str(v) for k, v in over.items()})
    return row


def licence(**over: Any) -> dict[str, str]:
    row = {
        "行政相对人名称": "厦门市湖里区示例餐饮有限公司",
        "行政相对人类别": "法人及非法人组织",
        "行政相对人代码_1(统一社会信用代码)": numbered_uscc(2, "91350206"),
        "法定代表人": "李四",
        "行政许可决定文书名称": "食品经营许可决定书",
        "行政许可决定文书号": "厦湖市监许〔2025〕8号",
        "许可类别": "普通",
        "许可证书名称": "食品经营许可证",
        "许可编号": "JY13502060012345",
        "许可内容": "预包装食品销售",
        "许可决定日期": "2025-03-03",
        "有效期自": "2025-03-03",
        "有效期至": "2030-03-02",
        "许可机关": "厦门市湖里区市场监督管理局",
        "许可机关统一社会信用代码": AUTHORITY_USCC,
        "数据来源单位": "厦门市湖里区市场监督管理局",
        "数据来源单位统一社会信用代码": AUTHORITY_USCC,
    }
    row.update({k: str(v) for k, v in over.items()})
    return row


def _header(rows: Sequence[dict[str, str]]) -> list[str]:
    header: list[str] = []
    for r in rows:
        header += [k for k in r if k not in header]
    return header


def write_csv(path: Path, rows: Sequence[dict[str, str]], encoding: str = "utf-8",
              delimiter: str = ",") -> Path:
    header = _header(rows)
    with path.open("w", encoding=encoding, newline="") as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow(header)
        for r in rows:
            w.writerow([r.get(h, "") for h in header])
    return path


def write_xlsx(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    header = _header(rows)
    ws.append(header)
    for r in rows:
        ws.append([r.get(h) for h in header])
    wb.save(path)
    return path


def write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path
