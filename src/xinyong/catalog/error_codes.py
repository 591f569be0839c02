"""The stable error codes of the catalog."""

from __future__ import annotations

from xinyong.core.errors import ErrorCode


class CatalogError(ErrorCode):
    UNKNOWN_CATALOG_ITEM = ("unknown_catalog_item", 404, "目录中没有该条目",
                            "No such catalog item.")
