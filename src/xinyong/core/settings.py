"""The one place that reads the environment (`XINYONG_*`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="XINYONG_", extra="ignore")

    database_url: str = "sqlite:///./xinyong.db"
    # Extra rule files (catalog supplements, calendar years …) a locality adds without code.
    data_dir: Path | None = None
    # Where submitted files and error reports are kept (keep the source: nothing is lost).
    files_dir: Path = Path("./xinyong-files")
    # Rows per ingest chunk: bounds memory and sets the unit of bulk writes.
    # Show full tracebacks of unexpected errors instead of one line.
    debug: bool = False
    ingest_chunk_rows: int = 5000
    # Files from this size on are read and validated in a second process while the first
    # stores (0: always; a huge number: never).
    ingest_parallel_bytes: int = 4 << 20
    # How many processes read and validate a large file (each prepares every n-th chunk).
    ingest_workers: int = 2
    # SQLite page cache of the connection storing a batch, in MiB. The record indexes of a
    # million-subject store outgrow the everyday cache; a batch then rereads index pages it
    # just wrote (measured: 3.7x the load floor with 64 MiB, 3.25x with 256 MiB).
    ingest_cache_mib: int = 256
    # Web: hours a browser session lasts after sign-in, however busy.
    session_hours: int = 8
    # Minutes without a request after which a browser session ends (checked by the server; the
    # cookie itself lasts only until the browser closes).
    session_idle_minutes: int = 30
    # Browser sessions one account may hold at once; signing in again ends the oldest.
    session_max_per_account: int = 3
    # Minutes a person has, after the right password, to enter the code of their authenticator.
    sign_in_code_minutes: int = 5
    # Send cookies only over HTTPS. Unset: on, except when the site is reached as localhost or
    # 127.0.0.1 (a developer's machine); true or false forces it.
    cookie_secure: bool | None = None
    # Sign-in protection, counted in the database so it holds across server processes.
    # After `sign_in_throttle_after` wrong passwords in a row for one username, each further
    # attempt must wait `sign_in_delay_seconds`, doubling each time (at most 60 s; 0: no wait);
    # after `sign_in_lock_failures` the username is locked for `sign_in_lock_minutes` (until
    # then even the right password is refused; `xinyong user unlock` lifts it).
    # One client address is locked likewise after `sign_in_address_lock_failures` wrong
    # passwords for any usernames. Failures older than `sign_in_failure_window_minutes`
    # are forgotten.
    sign_in_throttle_after: int = 3
    sign_in_delay_seconds: int = 1
    sign_in_lock_failures: int = 10
    sign_in_lock_minutes: int = 15
    sign_in_address_lock_failures: int = 50
    sign_in_failure_window_minutes: int = 60
    # Password policy. Character classes: lower-case, upper-case, digits, others. Privileged
    # roles (`privileged: true` in roles.yaml) must meet the stricter figures. No password may
    # contain the username or repeat one character more than `password_max_repeat` times in a row.
    password_min_length: int = 10
    password_min_classes: int = 1
    password_privileged_min_length: int = 12
    password_privileged_min_classes: int = 3
    password_max_repeat: int = 3
    # Anti-scraping: requests to the public read routes (search, subject pages, listings,
    # repair notices …) one anonymous address or enterprise account may make per minute, with
    # bursts of up to `rate_limit_burst`; 0 turns every limit off. Counted in the database,
    # so the figure holds for all server processes together.
    rate_limit_per_minute: int = 120
    rate_limit_burst: int = 30
    # The same for each API token on those routes (0: tokens are not limited). Checks
    # (逢办必查) are not public reads and are not limited.
    rate_limit_token_per_minute: int = 600
    rate_limit_token_burst: int = 100
    # Take the client address from X-Forwarded-For (only behind trusted reverse proxies):
    # the address the `trusted_proxies` proxies in front of the server were reached from,
    # i.e. the `trusted_proxies`-th entry from the right; what the client wrote to the left
    # of it is ignored.
    trust_proxy: bool = False
    trusted_proxies: int = 1
    # Requests one server process works on at once; more wait their turn in the event loop.
    # Bounds the database connections a process needs (each request holds at most a few).
    max_concurrent_requests: int = 8
    # Seconds a server process trusts a bearer token it has already checked before it reads the
    # token again: a business system making a thousand checks a second should not pay a token
    # lookup on each. A revoked token is refused at once by the process that revoked it and by
    # every other process within this time; 0 reads the token on every request.
    token_cache_seconds: float = 5.0
    # The secret natural persons' subject keys are keyed with (HMAC-SHA256 of the identity
    # document), made on first use with mode 0600. Unset: keys/identity.key in files_dir.
    # Keep it out of the database and its backups, and back it up with the server's secrets:
    # without it a person reported again no longer matches their earlier records.
    identity_key_file: Path | None = None
    # Largest file a department may upload, in MiB.
    max_upload_mib: int = 200
    # Workbooks (XLSX) are read in a child process within these bounds; a workbook past any
    # of them is refused with a message saying which. What one zip member may inflate to,
    # rows and columns of the first sheet (cells present, whatever the sheet declares), shared
    # strings, the size of the rows it expands to, the child's memory and its seconds.
    xlsx_max_member_mib: int = 256
    xlsx_max_rows: int = 200_000
    xlsx_max_columns: int = 512
    xlsx_max_shared_strings: int = 2_000_000
    xlsx_max_output_mib: int = 1024
    xlsx_memory_mib: int = 1024
    xlsx_timeout_seconds: int = 300
    # The audit log's signing keys: a file outside the database, created (mode 0600) on first
    # use. Unset: `xinyong-audit.key` beside the data folder (the parent of `files_dir`).
    audit_key_file: Path | None = None
    # The append-only file the audit log's head is anchored in. Unset: beside the key file's
    # default place, `xinyong-audit-anchors.jsonl`.
    audit_anchor_file: Path | None = None
    # After a commit, anchor the head when this many events were appended since the last
    # anchor, or when the last anchor is this many minutes old (`xinyong audit anchor` anytime).
    audit_anchor_every_events: int = 50
    audit_anchor_every_minutes: int = 5
    # How `xinyong notifications deliver` sends the notifications of enterprises' cases:
    # `log` (default) writes each to the application log; a locality adds e-mail or SMS by
    # naming its own channel class as `package.module:ClassName` (docs/notifications.md).
    notification_channel: str = "log"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
