"""Property-based fuzzing of the JSON API from its own OpenAPI document (schemathesis).

Every documented operation is called with generated requests, valid and invalid, anonymously,
with a staff API token and (for the audit routes) as an auditor signed in with a session; every
response must be free of server errors and match what the document promises: a documented
status code, its content type and its response schema. The store holds data (a small 双公示
file with a bad row), so routes answer with real bodies and not only 404s; the real records are
also fetched by their known identifiers and validated the same way.

Runs on SQLite and PostgreSQL (the `engine` fixture): the PostgreSQL leg found a bug SQLite
could not (32-bit ids) and the whole module takes under a minute with 25 generated examples per
operation, plus schemathesis' deterministic boundary cases.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import create_engine

from xinyong.web.app import create_app

from ..factories import numbered_uscc
from .conftest import DEPARTMENT, Platform, published_penalty

OPENAPI = "/api/v1/openapi.json"
CHECKS: list[Callable[..., Any]] = [not_a_server_error, status_code_conformance,
                                    content_type_conformance, response_schema_conformance]
FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))


@dataclass
class Loaded:
    platform: Platform
    batch: int
    uscc: str
    staff_token: str


@pytest.fixture
def loaded(platform: Platform) -> Loaded:
    """A store with one department's batch: two good penalties and one rejected row, loaded
    with a staff token (no password hashing: this runs once per operation)."""
    token = platform.token("staff")
    rows = [published_penalty(1), published_penalty(2),
            published_penalty(3, **{"行政相对人代码_1(统一社会信用代码)": "123"})]
    client = TestClient(platform.client.app, headers={"Authorization": f"Bearer {token}"})
    r = platform.upload(client, platform.csv("fuzz.csv", rows), department=DEPARTMENT, kind="penalty")
    assert r.status_code == 201, r.text
    receipt = r.json()
    assert receipt["accepted"] == 2 and receipt["rejected"] == 1
    return Loaded(platform, receipt["batch"], numbered_uscc(1), token)


@pytest.fixture
def auditor_session(loaded: Loaded) -> dict[str, dict[str, str]]:
    """Cookie and CSRF header of a signed-in auditor (auditors have no tokens)."""
    client = loaded.platform.as_role("auditor")
    return {"cookies": dict(client.cookies), "headers": {"X-CSRF-Token": client.headers["X-CSRF-Token"]}}


def _served_document() -> dict[str, Any]:
    """The document as the app serves it. Building the app touches no store, so a throwaway
    in-memory engine will do; each test then sends its cases to its own app over its own
    store (`app=`). (schemathesis' `from_fixture` would be the natural fit, but 4.32 breaks
    on pytest 9.2, which renamed `Node._nodeid`.)"""
    with TestClient(create_app(create_engine("sqlite://"))) as client:
        document: dict[str, Any] = client.get(OPENAPI).json()
    return document


DOCUMENT = _served_document()
schema = schemathesis.openapi.from_dict(DOCUMENT)


@schema.parametrize()
@FUZZ
def test_api_anonymous(case: Case, loaded: Loaded) -> None:
    case.call_and_validate(checks=CHECKS, app=loaded.platform.client.app)


@schema.parametrize()
@FUZZ
def test_api_with_staff_token(case: Case, loaded: Loaded) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {loaded.staff_token}"}, checks=CHECKS,
                          app=loaded.platform.client.app)


@schema.include(path_regex="/audit").parametrize()
@FUZZ
def test_audit_api_as_auditor(case: Case, loaded: Loaded,
                              auditor_session: dict[str, dict[str, str]]) -> None:
    case.call_and_validate(checks=CHECKS, app=loaded.platform.client.app, **auditor_session)


def _is_text(param_schema: dict[str, Any]) -> bool:
    options = param_schema.get("anyOf", [param_schema])
    return any(o.get("type") == "string" and "format" not in o for o in options)


def test_nul_characters_in_text_parameters_are_refused_not_a_server_error(
        loaded: Loaded, auditor_session: dict[str, dict[str, str]]) -> None:
    """Generated text seldom holds U+0000, which PostgreSQL cannot store or compare in text; so
    every text parameter of every GET operation is sent one, deterministically, as staff and as
    an auditor."""
    sessions: list[dict[str, Any]] = [
        {"headers": {"Authorization": f"Bearer {loaded.staff_token}"}}, auditor_session]
    for path, methods in DOCUMENT["paths"].items():
        if "get" not in methods:
            continue
        params = [p for p in methods["get"].get("parameters", []) if _is_text(p["schema"])]
        if not params:
            continue
        parts = {"path_parameters": {p["name"]: "a\x00b" for p in params if p["in"] == "path"},
                 "query": {p["name"]: "a\x00b" for p in params if p["in"] == "query"}}
        for session in sessions:
            case = schema[path]["GET"].Case(**parts)
            case.call_and_validate(checks=CHECKS, app=loaded.platform.client.app, **session)


def test_real_records_match_the_document(loaded: Loaded) -> None:
    """The known batch and subject, fetched for real, answer 200 with documented bodies."""
    auth = {"Authorization": f"Bearer {loaded.staff_token}"}
    calls = [
        ("/api/v1/subjects", {"query": {"q": "测试贸易"}}),
        ("/api/v1/subjects/{uscc}", {"path_parameters": {"uscc": loaded.uscc}}),
        ("/api/v1/subjects/{uscc}/history", {"path_parameters": {"uscc": loaded.uscc}}),
        ("/api/v1/batches", {}),
        ("/api/v1/batches/{batch_id}", {"path_parameters": {"batch_id": loaded.batch}}),
        ("/api/v1/batches/{batch_id}/errors", {"path_parameters": {"batch_id": loaded.batch}}),
        ("/api/v1/catalog/{code}", {"path_parameters": {"code": "penalty"}}),
        ("/api/v1/me", {}),
    ]
    for path, parts in calls:
        case = schema[path]["GET"].Case(**parts)
        response = case.call_and_validate(headers=auth, checks=CHECKS, app=loaded.platform.client.app)
        assert response.status_code == 200, (path, response.text)
        if path == "/api/v1/subjects":
            assert response.json()["items"], "the loaded subjects are found"
