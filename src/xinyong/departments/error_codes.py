"""The stable error codes of the department registry."""

from __future__ import annotations

from xinyong.core.errors import ErrorCode


class DepartmentError(ErrorCode):
    UNKNOWN_DEPARTMENT = (
        "unknown_department", 422, "部门尚未登记",
        "The department is not registered; choose one from the list of departments.")
    DEPARTMENT_REQUIRED = ("department_required", 422, "请指明报送部门",
                           "Name the reporting department.")
    INVALID_DEPARTMENT = ("invalid_department", 422, "部门名称或其统一社会信用代码不正确",
                          "The department's name or code is not valid.")
    DEPARTMENT_EXISTS = ("department_exists", 422, "该部门（或其别名、代码）已登记",
                         "This department, one of its names or its code is registered already.")
