"""The role table: every route of the app has an explicit rule, and every route is called as
every role; a role without the permission is refused (401 anonymous, 403 signed in), a role
with it is let through (whatever the route then says of the request itself)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from xinyong.accounts.rules import anonymous, role_table
from xinyong.web.security import OPEN, rule_of

from ..factories import numbered_uscc
from .conftest import DEPARTMENT, Platform

# (method, path) → the permission it requires. This table is the specification: a new route
# fails the test until it is added here with its rule.
ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): OPEN,
    ("GET", "/healthz/db"): OPEN,
    ("GET", "/api/v1/docs"): OPEN,
    ("GET", "/api/v1/subjects"): "subject.read_public",
    ("GET", "/api/v1/subjects/{uscc}"): "subject.read_public",
    ("GET", "/api/v1/subjects/{uscc}/history"): "subject.read_full",
    ("GET", "/api/v1/publicity"): "subject.read_public",
    ("GET", "/api/v1/catalog"): "catalog.read",
    ("GET", "/api/v1/catalog/{code}"): "catalog.read",
    ("GET", "/api/v1/departments"): "catalog.read",
    ("POST", "/api/v1/batches"): "batch.submit",
    ("GET", "/api/v1/batches"): "batch.read_own",
    ("GET", "/api/v1/batches/{batch_id}"): "batch.read_own",
    ("GET", "/api/v1/batches/{batch_id}/errors"): "batch.read_own",
    ("POST", "/api/v1/session"): OPEN,
    ("DELETE", "/api/v1/session"): OPEN,
    ("GET", "/api/v1/me"): OPEN,
    ("GET", "/api/v1/audit"): "audit.read",
    ("GET", "/api/v1/audit/verify"): "audit.read",
    ("GET", "/"): "subject.read_public",
    ("GET", "/search"): "subject.read_public",
    ("GET", "/subjects/{uscc}"): "subject.read_public",
    ("GET", "/publicity"): "subject.read_public",
    ("GET", "/publicity/export"): "subject.read_public",
    ("GET", "/repairs"): "subject.read_public",
    ("GET", "/console"): OPEN,
    ("GET", "/console/sign-in"): OPEN,
    ("POST", "/console/sign-in"): OPEN,
    ("POST", "/console/sign-out"): OPEN,
    ("GET", "/console/subjects"): "subject.read_full",
    ("GET", "/console/subjects/{uscc}"): "subject.read_full",
    ("GET", "/console/catalog"): "catalog.read",
    ("GET", "/console/catalog/{code}"): "catalog.read",
    ("GET", "/console/upload"): "batch.submit",
    ("POST", "/console/upload"): "batch.submit",
    ("GET", "/console/batches"): "batch.read_own",
    ("GET", "/console/batches/{batch_id}"): "batch.read_own",
    ("GET", "/console/batches/{batch_id}/errors"): "batch.read_own",
    ("GET", "/console/audit"): "audit.read",
    ("GET", "/console/audit/export"): "audit.read",
    # accounts (账号管理), the second factor and one's own password --------------------------
    ("GET", "/console/sign-in/code"): OPEN,
    ("POST", "/console/sign-in/code"): OPEN,
    ("PUT", "/api/v1/me/password"): "password.change_own",
    ("GET", "/console/password"): "password.change_own",
    ("POST", "/console/password"): "password.change_own",
    ("GET", "/api/v1/accounts"): "account.manage",
    ("POST", "/api/v1/accounts"): "account.manage",
    ("GET", "/api/v1/accounts/{username}"): "account.manage",
    ("PATCH", "/api/v1/accounts/{username}"): "account.manage",
    ("POST", "/api/v1/accounts/{username}/password-reset"): "account.manage",
    ("DELETE", "/api/v1/accounts/{username}/lock"): "account.manage",
    ("DELETE", "/api/v1/accounts/{username}/sessions"): "account.manage",
    ("GET", "/console/accounts"): "account.manage",
    ("POST", "/console/accounts"): "account.manage",
    ("GET", "/console/accounts/{username}"): "account.manage",
    ("POST", "/console/accounts/{username}"): "account.manage",
    ("POST", "/console/accounts/{username}/password-reset"): "account.manage",
    ("POST", "/console/accounts/{username}/unlock"): "account.manage",
    ("POST", "/console/accounts/{username}/end-sessions"): "account.manage",
    ("POST", "/console/accounts/{username}/deactivation"): "account.manage",
    ("POST", "/console/accounts/{username}/activation"): "account.manage",
    # objections (异议) ---------------------------------------------------------------------
    ("POST", "/api/v1/objections"): "objection.file",
    ("GET", "/api/v1/objections"): "objection.decide",
    ("GET", "/api/v1/objections/{case_no}"): "subject.read_public",
    ("POST", "/api/v1/objections/{case_no}/decision"): "objection.decide",
    ("GET", "/objections"): "subject.read_public",
    ("GET", "/objections/new"): "objection.file",
    ("POST", "/objections/new"): "objection.file",
    ("GET", "/objections/{case_no}"): "subject.read_public",
    ("GET", "/console/objections"): "objection.decide",
    ("GET", "/console/objections/{case_no}"): "objection.decide",
    ("POST", "/console/objections/{case_no}"): "objection.decide",
    ("GET", "/console/objections/{case_no}/attachments/{n}"): "objection.decide",
    # repair (信用修复) ---------------------------------------------------------------------
    ("GET", "/api/v1/records/{record_id}/repair-eligibility"): "subject.read_public",
    ("POST", "/api/v1/repairs"): "repair.apply",
    ("GET", "/api/v1/repairs"): "repair.decide",
    ("GET", "/api/v1/repairs/{case_no}"): "subject.read_public",
    ("POST", "/api/v1/repairs/{case_no}/decision"): "repair.decide",
    ("POST", "/api/v1/repairs/{case_no}/materials"): "repair.apply",
    ("GET", "/repairs/new"): "repair.apply",
    ("POST", "/repairs"): "repair.apply",
    ("GET", "/repairs/{case_no}"): "subject.read_public",
    ("POST", "/repairs/{case_no}/materials"): "repair.apply",
    ("GET", "/records/{record_id}/repair-notice"): "subject.read_public",
    ("GET", "/console/repairs"): "repair.decide",
    ("GET", "/console/repairs/{case_no}"): "repair.decide",
    ("POST", "/console/repairs/{case_no}/decision"): "repair.decide",
    ("GET", "/console/repairs/{case_no}/files/{material_id}"): "repair.decide",
    ("GET", "/api/v1/list-entries/{entry}/repair-eligibility"): "subject.read_public",
    # lists (名单) --------------------------------------------------------------------------
    ("GET", "/api/v1/lists"): "subject.read_public",
    ("GET", "/api/v1/lists/{kind}/entries"): "subject.read_public",
    ("POST", "/api/v1/list-proposals"): "list.manage",
    ("GET", "/api/v1/list-proposals"): "list.manage",
    ("GET", "/api/v1/list-proposals/{proposal_id}"): "list.manage",
    ("POST", "/api/v1/list-proposals/{proposal_id}/notice"): "list.manage",
    ("POST", "/api/v1/list-proposals/{proposal_id}/objection"): OPEN,  # staff, or the subject itself
    ("POST", "/api/v1/list-proposals/{proposal_id}/decision"): "list.manage",
    ("POST", "/api/v1/list-proposals/{proposal_id}/withdrawal"): "list.manage",
    ("POST", "/api/v1/list-entries/{entry_id}/removal"): "list.manage",
    ("GET", "/lists"): "subject.read_public",
    ("GET", "/lists/{kind}"): "subject.read_public",
    ("GET", "/console/lists"): "list.manage",
    ("POST", "/console/lists"): "list.manage",
    ("GET", "/console/list-proposals/{proposal_id}"): "list.manage",
    ("GET", "/console/list-proposals/{proposal_id}/notice"): "list.manage",
    ("POST", "/console/list-proposals/{proposal_id}/notice"): "list.manage",
    ("POST", "/console/list-proposals/{proposal_id}/objection"): OPEN,  # staff, or the subject itself
    ("POST", "/console/list-proposals/{proposal_id}/decision"): "list.manage",
    ("POST", "/console/list-proposals/{proposal_id}/withdrawal"): "list.manage",
    ("POST", "/console/list-entries/{entry_id}/removal"): "list.manage",
    ("GET", "/console/list-notices"): "objection.file",
    ("GET", "/enterprise/sign-in"): OPEN,
    ("POST", "/enterprise/sign-in"): OPEN,
    ("GET", "/enterprise"): "subject.read_own",
    ("GET", "/enterprise/notifications"): "subject.read_own",
    ("POST", "/enterprise/notifications/read"): "subject.read_own",
    ("GET", "/api/v1/notifications"): "subject.read_own",
    ("POST", "/api/v1/notifications/read"): "subject.read_own",
    # check (信用核查) ------------------------------------------------------------------------
    ("POST", "/api/v1/checks"): "check.run",
    ("POST", "/api/v1/checks/batch"): "check.run",
    ("GET", "/api/v1/measures"): "catalog.read",
    ("GET", "/api/v1/matters"): "catalog.read",
    ("GET", "/console/checks"): "check.run",
    ("POST", "/console/checks"): "check.run",
    ("POST", "/console/checks/upload"): "check.run",
    ("GET", "/console/checks/{check_id}"): "check.run",
    ("POST", "/console/checks/{check_id}/feedback"): "check.run",
    # check feedback (执行反馈) -----------------------------------------------------------------
    ("POST", "/api/v1/checks/{check_id}/feedback"): "check.run",
    ("GET", "/api/v1/checks/{check_id}"): "check.run",
    ("GET", "/api/v1/checks/stats"): "check.run",
    ("GET", "/console/checks/stats"): "quality.read",
    # warnings (信用风险预警) ----------------------------------------------------------------------
    ("GET", "/api/v1/warnings/rules"): "warning.read",
    ("GET", "/api/v1/warnings"): "warning.read",
    ("GET", "/api/v1/warnings/{warning_id}"): "warning.read",
    ("POST", "/api/v1/warnings/{warning_id}/close"): "warning.handle",
    ("POST", "/api/v1/warnings/scan"): "evaluation.run",
    ("GET", "/console/warnings"): "warning.read",
    ("GET", "/console/warnings/{warning_id}"): "warning.read",
    ("POST", "/console/warnings/{warning_id}/close"): "warning.handle",
    ("POST", "/console/warnings/scan"): "evaluation.run",
    # sampling (双随机一公开) -------------------------------------------------------------------
    ("GET", "/api/v1/sampling-plans"): "sampling.manage",
    ("POST", "/api/v1/sampling-plans"): "sampling.manage",
    ("GET", "/api/v1/sampling-plans/{plan_id}"): "sampling.manage",
    ("POST", "/api/v1/sampling-plans/{plan_id}/draw"): "sampling.manage",
    ("POST", "/api/v1/sampling-plans/{plan_id}/cancellation"): "sampling.manage",
    ("POST", "/api/v1/sampling-plans/{plan_id}/results"): "sampling.manage",
    ("GET", "/api/v1/sampling-plans/{plan_id}/inputs"): "sampling.manage",
    ("GET", "/api/v1/sampling/plans"): "subject.read_public",
    ("GET", "/api/v1/sampling/plans/{plan_id}"): "subject.read_public",
    ("GET", "/api/v1/sampling/plans/{plan_id}/verification"): "subject.read_public",
    ("GET", "/sampling"): "subject.read_public",
    ("GET", "/sampling/{plan_id}"): "subject.read_public",
    ("GET", "/console/sampling"): "sampling.manage",
    ("POST", "/console/sampling"): "sampling.manage",
    ("GET", "/console/sampling/{plan_id}"): "sampling.manage",
    ("POST", "/console/sampling/{plan_id}/draw"): "sampling.manage",
    ("POST", "/console/sampling/{plan_id}/cancellation"): "sampling.manage",
    ("POST", "/console/sampling/{plan_id}/results"): "sampling.manage",
    # evaluation (综合评价) ---------------------------------------------------------------------
    ("POST", "/api/v1/evaluations"): "evaluation.run",
    ("GET", "/api/v1/evaluations/runs"): "evaluation.read",
    ("GET", "/api/v1/evaluations/distribution"): "evaluation.read",
    ("GET", "/api/v1/subjects/{uscc}/evaluation"): "subject.read_public",
    ("GET", "/console/evaluations"): "evaluation.read",
    ("POST", "/console/evaluations"): "evaluation.run",
    ("GET", "/console/evaluations/subjects/{uscc}"): "evaluation.read",
    ("GET", "/console/evaluations/list"): "evaluation.read",
    ("GET", "/console/evaluations/list/export"): "evaluation.read",
    ("GET", "/console/evaluations/export"): "evaluation.read",
}
# Not application routes: the OpenAPI document and its viewer, and static files.
UNGUARDED = {"/api/v1/openapi.json", "/api/v1/docs", "/docs/oauth2-redirect", "/static"}

PATH_VALUES = {"{uscc}": numbered_uscc(42), "{code}": "penalty", "{batch_id}": "999999",
               "{username}": "nobody-here"}


def _rules_of(dependant: Any) -> list[str]:
    found = []
    for d in dependant.dependencies:
        rule = rule_of(d.call)
        if rule:
            found.append(rule)
        found += _rules_of(d)
    return found


def _app_routes(app: Any) -> dict[tuple[str, str], list[str]]:
    routes = {}
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            for method in route.methods:
                routes[(method, context.path)] = _rules_of(route.dependant)
        else:
            assert getattr(route, "path", None) in UNGUARDED, route
    return routes


def test_every_route_has_exactly_one_rule_and_is_in_the_table(platform: Platform) -> None:
    routes = _app_routes(platform.client.app)
    assert set(routes) == set(ROUTES), "routes and the role table differ"
    for key, rules in routes.items():
        assert rules == [ROUTES[key]], f"{key}: rules {rules}, table says {ROUTES[key]}"
    for permission in set(ROUTES.values()) - {OPEN}:
        assert permission in role_table().permissions, permission


def _request(client: TestClient, method: str, path: str) -> Any:
    url = path
    for placeholder, value in PATH_VALUES.items():
        url = url.replace(placeholder, value)
    kwargs: dict[str, Any] = {"follow_redirects": False}
    if path in ("/api/v1/batches", "/console/upload") and method == "POST":
        kwargs["files"] = {"file": ("x.txt", b"a,b\n1,2\n", "text/csv")}
    elif path == "/api/v1/session" and method == "POST":
        kwargs["json"] = {"username": "nobody", "password": "wrong-password"}
    elif path in ("/search", "/api/v1/subjects"):
        url += "?q=测试"
    return client.request(method, url, **kwargs)


ROLES = ["public", "enterprise", "reporter", "staff", "reviewer", "auditor", "admin", "system"]


@pytest.mark.parametrize("role", ROLES)
def test_every_route_as_every_role(platform: Platform, role: str) -> None:
    table = role_table()
    if role == "public":
        client, permissions = TestClient(platform.client.app), anonymous().permissions
    elif role == "system":
        client = TestClient(platform.client.app)
        client.headers["Authorization"] = f"Bearer {platform.token('system', DEPARTMENT)}"
        permissions = table.role("system").permissions
    else:
        department = DEPARTMENT if table.role(role).department == "required" else None
        client = platform.as_role(role, department, numbered_uscc(41) if role == "enterprise" else None)
        # a person signed in may still do all the public may
        permissions = table.role(role).permissions | anonymous().permissions
    for (method, path), permission in ROUTES.items():
        if path in ("/api/v1/session", "/console/sign-out") and role != "public":
            continue  # signing in or out would change who this client is mid-table
        response = _request(client, method, path)
        allowed = permission == OPEN or permission in permissions
        where = f"{role} {method} {path} → {response.status_code} {response.text[:200]}"
        if allowed:
            if (method, path) == ("POST", "/api/v1/session"):  # reached, and refused the password
                assert response.json()["code"] == "authentication_failed", where
                continue
            assert response.status_code not in (401, 403), where
        elif role == "public":
            assert response.status_code in (401, 303), where
            if response.status_code == 303:  # console pages send the public to sign in
                door = "/enterprise/sign-in" if path.startswith("/enterprise") else "/console/sign-in"
                assert response.headers["location"].startswith(door), where
        else:
            assert response.status_code == 403, where
