"""`xinyong check …` in a subprocess: JSON answers, the catalog, and a clear message with a
non-zero exit for a malformed code, an empty name or an unknown matter type."""

from __future__ import annotations

import json

import pytest

from ..factories import numbered_uscc
from ..test_cli import xinyong


def test_check_json_of_an_unknown_code_and_the_catalog() -> None:
    result = xinyong("check", numbered_uscc(9), "--matter", "招标投标", "--json", check=True)
    found = json.loads(result.stdout)
    assert found["subject"] is None and found["check_id"].startswith("HC")
    assert found["matter"] == {"code": "bidding", "name": "招标投标"}
    measures = json.loads(xinyong("check", "measures", "--json", check=True).stdout)
    assert measures and all(m["basis"]["document"] for m in measures)
    matters = json.loads(xinyong("check", "matters", "--json", check=True).stdout)
    assert {"bidding", "government_procurement", "licensing"} <= {m["code"] for m in matters}
    assert "法律依据" in xinyong("check", "measures", check=True).stdout


@pytest.mark.parametrize(("args", "message"), [
    (("91350203MA2Y0000X1", "--matter", "bidding"), "统一社会信用代码不正确"),
    (("  ", "--matter", "bidding"), "请填写要核查的主体名称"),
    ((numbered_uscc(1), "--matter", "买房"), "未知的办理事项类型“买房”"),
])
def test_bad_input_exits_non_zero_with_a_clear_message(args: tuple[str, ...], message: str) -> None:
    result = xinyong("check", *args, "--json")
    assert result.returncode != 0 and message in result.stderr and "Traceback" not in result.stderr
