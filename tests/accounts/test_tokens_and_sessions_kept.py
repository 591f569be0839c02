"""The per-process cache of checked bearer tokens: it spares a token lookup per request, but
never outlives the token's expiry, its time limit, or a revocation made in the same process;
and old browser sessions are dropped when their account signs in again."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, update

from xinyong.accounts import service
from xinyong.accounts.models import ApiToken, WebSession
from xinyong.accounts.rules import AuthenticationFailed
from xinyong.core.audit import Actor
from xinyong.core.db import utcnow, writing

ADMIN = Actor("cli:test", "admin", "cli")


def issued(engine: Engine) -> tuple[str, service.TokenGrant]:
    with writing(engine) as conn:
        secret, _ = service.create_token(conn, ADMIN, "system", "厦门市财政局")
        return secret, service.token_grant(conn, secret)


def test_a_kept_grant_answers_until_its_time_is_up(engine: Engine) -> None:
    cache = service.TokenCache()
    secret, grant = issued(engine)
    assert cache.principal(secret, 5.0) is None  # never seen
    cache.keep(secret, grant)
    assert cache.principal(secret, 5.0) == grant.principal
    assert cache.principal(f"  {secret} ", 5.0) == grant.principal  # the header's spaces
    assert cache.principal(secret, 0.0) is None  # its time is up: read the token again
    assert cache.principal(secret, 5.0) is None  # and it was dropped


def test_a_grant_is_never_used_past_the_tokens_expiry(engine: Engine) -> None:
    cache = service.TokenCache()
    secret, grant = issued(engine)
    cache.keep(secret, service.TokenGrant(grant.principal, utcnow() - timedelta(seconds=1)))
    assert cache.principal(secret, 60.0) is None


def test_revoking_a_token_forgets_it_in_this_process_at_once(engine: Engine) -> None:
    secret, grant = issued(engine)
    service.token_cache.keep(secret, grant)
    assert service.token_cache.principal(secret, 60.0) == grant.principal
    with writing(engine) as conn:
        service.revoke_token(conn, ADMIN, secret[:8])
    assert service.token_cache.principal(secret, 60.0) is None


def test_an_expired_token_is_refused_by_the_lookup(engine: Engine) -> None:
    secret, _ = issued(engine)
    with writing(engine) as conn:
        conn.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(minutes=1)))
    with engine.connect() as conn, pytest.raises(AuthenticationFailed) as refused:
        service.token_grant(conn, secret)
    assert refused.value.code == "token_expired"


def test_signing_in_drops_the_accounts_sessions_ended_or_expired_long_ago(engine: Engine) -> None:
    with writing(engine) as conn:
        service.create_account(conn, ADMIN, "li", "staff", password="correct horse battery 42")
        principal = service.authenticate_password(conn, "li", "correct horse battery 42")
        old, _ = service.start_session(conn, principal)
        recent, _ = service.start_session(conn, principal)
        ended, _ = service.start_session(conn, principal)
        service.end_session(conn, ended, ADMIN)
        long_ago = utcnow() - timedelta(days=service.SESSION_RETENTION_DAYS + 1)
        conn.execute(update(WebSession).where(WebSession.secret_hash == _hash(old))
                     .values(expires_at=long_ago))
        conn.execute(update(WebSession).where(WebSession.secret_hash == _hash(ended))
                     .values(ended_at=long_ago))
        service.start_session(conn, principal)  # the next sign-in
        kept = conn.execute(select(WebSession.secret_hash)).scalars().all()
    assert _hash(old) not in kept and _hash(ended) not in kept
    assert _hash(recent) in kept and len(kept) == 2
    with engine.connect() as conn:
        assert service.session_for(conn, recent) is not None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
