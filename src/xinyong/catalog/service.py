"""Catalog verbs: which catalog is in force, and recording its version in the store."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, insert, select

from xinyong.catalog import rules
from xinyong.catalog.error_codes import CatalogError
from xinyong.catalog.models import CatalogVersion
from xinyong.core.db import utcnow
from xinyong.core.errors import NotFound
from xinyong.core.settings import get_settings

NATIONAL = "national.yaml"


def catalog_paths(data_dir: Path | None = None) -> list[Path]:
    """The national catalog, then supplements shipped with the package, then the locality's
    own (`$XINYONG_DATA_DIR/catalog/*.yaml`), each group in name order."""
    shipped = Path(str(resources.files("xinyong.data").joinpath("catalog")))
    paths = [shipped / NATIONAL]
    paths += sorted(p for p in shipped.glob("*.yaml") if p.name != NATIONAL)
    local = data_dir if data_dir is not None else get_settings().data_dir
    if local is not None:
        paths += sorted((local / "catalog").glob("*.yaml"))
    return paths


@lru_cache(maxsize=4)
def _load(paths: tuple[Path, ...]) -> rules.Catalog:
    return rules.load(paths)


def current_catalog() -> rules.Catalog:
    return _load(tuple(catalog_paths()))


def register_version(conn: Connection, catalog: rules.Catalog) -> int:
    """The id of this catalog content in the store, recording it the first time it is used."""
    table = CatalogVersion.__table__
    found = conn.execute(
        select(table.c.id).where(table.c.digest == catalog.digest)
    ).scalar_one_or_none()
    if found is not None:
        return int(found)
    result = conn.execute(insert(CatalogVersion).values(
        version=catalog.version, digest=catalog.digest,
        sources=",".join(catalog.sources),
        content=orjson.dumps(catalog.content, option=orjson.OPT_SORT_KEYS).decode(),
        loaded_at=utcnow(),
    ))
    pk = result.inserted_primary_key
    assert pk is not None
    return int(pk[0])


def items_view() -> dict[str, Any]:
    """The catalog's items as every edge shows them (CLI, API, console)."""
    catalog = current_catalog()
    return {"version": catalog.version, "sources": list(catalog.sources), "items": [
        {"code": i.code, "name": i.name, "category": catalog.categories[i.category],
         "disclosure": i.disclosure, "legal_basis": i.legal_basis, "fields": len(i.fields),
         "publicity": i.publicity, "timeliness_days": i.timeliness_days}
        for i in catalog.items.values()]}


def item_view(code: str) -> dict[str, Any]:
    catalog = current_catalog()
    item = catalog.item(code)
    if item is None:
        raise NotFound(f"目录中没有条目“{code}”", code=CatalogError.UNKNOWN_CATALOG_ITEM)
    return {"code": item.code, "name": item.name, "category": catalog.categories[item.category],
            "disclosure": item.disclosure, "legal_basis": item.legal_basis,
            "publicity": item.publicity, "timeliness_days": item.timeliness_days,
            "timeliness_basis": item.timeliness_basis, "subject_kinds": list(item.subject_kinds),
            "fields": [{"name": f.name, "label": f.label, "code": f.code, "type": f.type,
                        "required": f.required, "enum": f.enum,
                        "values": [v.value for v in catalog.enums.get(f.enum, ())]
                        if f.enum else []}
                       for f in item.fields]}
