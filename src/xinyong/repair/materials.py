"""Repair materials: the files an application carries — checking them against the rules,
storing them with the case, and handing a filed one to a reviewer (an audited read)."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, insert, select

from xinyong.core import audit
from xinyong.core.db import Db, transaction, utcnow
from xinyong.core.errors import InvalidInput, NotFound
from xinyong.core.settings import get_settings
from xinyong.repair import rules
from xinyong.repair.error_codes import RepairError
from xinyong.repair.events import RepairEvent
from xinyong.repair.models import RepairMaterial
from xinyong.repair.queries import case_row


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
    The materials are the penalty ones (the rules) or a list kind's (`rules.list_exit_materials`)."""
    known = repair_rules.materials if isinstance(repair_rules, rules.RepairRules) else tuple(repair_rules)
    for f in files:
        if not any(m.code == f.material for m in known):
            raise InvalidInput(f"未知的材料类别“{f.material}”", code=RepairError.UNKNOWN_MATERIAL)
    if first:
        given = {f.material for f in files}
        missing = [m.name for m in known if m.required and m.code not in given]
        if missing:
            raise InvalidInput(f"缺少必须提交的材料：{'、'.join(missing)}",
                               code=RepairError.MATERIALS_MISSING)
    elif not files:
        raise InvalidInput("请上传需补正的材料", code=RepairError.MATERIALS_MISSING)


def case_folder(case_no: str) -> Path:
    return get_settings().files_dir / "repairs" / case_no


def store_files(conn: Connection, case_id: int, case_no: str, subject_id: int, files: Sequence[Staged],
                round_no: int) -> None:
    """Move the staged files into the case's folder and list them with the case (in the
    caller's transaction)."""
    folder = case_folder(case_no)
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


def material_file(conn: Connection, case_no: str, material_id: int) -> tuple[Path, str]:
    """A stored material's path and the name it was sent with."""
    case = case_row(conn, case_no)
    t = RepairMaterial.__table__
    row = conn.execute(select(t.c.stored, t.c.filename).where(
        t.c.id == material_id, t.c.case_id == case["id"])).first()
    if row is None:
        raise NotFound(f"案件 {case_no} 没有编号为 {material_id} 的材料",
                       code=RepairError.MATERIAL_NOT_FOUND)
    path = get_settings().files_dir / row.stored
    if not path.is_file():
        raise NotFound(f"材料文件 {row.filename} 已不在文件存储中，请联系管理员",
                       code=RepairError.MATERIAL_FILE_MISSING)
    return path, str(row.filename)


def read_material(db: Db, actor: audit.Actor, case_no: str, material_id: int) -> tuple[Path, str]:
    """`material_file` for a reviewer: reading a filed material is audited
    (`repair.material_read`), since it is not public data."""
    with transaction(db) as conn:
        path, filename = material_file(conn, case_no, material_id)
        audit.record(conn, actor, RepairEvent.MATERIAL_READ, "repair_case", case_no,
                     detail={"material": material_id})
    return path, filename
