"""Check tests: queued check-log rows are stored before the test's store goes away."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from xinyong.check import service


@pytest.fixture(autouse=True)
def _log_flushed(request: pytest.FixtureRequest) -> Iterator[None]:
    engine = request.getfixturevalue("engine") if "engine" in request.fixturenames else None
    yield
    if engine is not None:
        service.flush_log(engine)
