"""Where the ledger lives and its schema: the database URL, the engine (SQLite pragmas), and
Alembic migrations brought to head once per database, safely when threads and processes race."""
from __future__ import annotations

import os
import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from drivers.errors import BumplineError

MIGRATIONS = Path(__file__).parent / "migrations"


def home() -> Path:
    """The line's working folder on this host (`BUMPLINE_HOME`, default ./.bumpline): ledger, logs."""
    return Path(os.environ.get("BUMPLINE_HOME", ".bumpline")).resolve()


def default_url() -> str:
    """`BUMPLINE_DB_URL`, else a SQLite file under `BUMPLINE_HOME` (default ./.bumpline)."""
    if url := os.environ.get("BUMPLINE_DB_URL"):
        return url
    h = home()
    h.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{h / 'ledger.db'}"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
        return engine
    # one engine per process serves every lot it runs (`shared_ledger`): a pool sized for a worker's
    # lots as threads, so 100 lots on two workers stay well inside PostgreSQL's 100 connections
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, pool_timeout=120)


_migrate_lock = threading.Lock()
MIGRATION_LOCK_ID = 7_426_001  # PostgreSQL advisory lock: one migrator across processes


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` with Alembic (the same path production upgrades take)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


@lru_cache(maxsize=1)
def head_revision() -> str:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    if head is None:
        raise BumplineError(f"no migration head under {MIGRATIONS}")
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def ensure_schema(engine: Engine) -> None:
    """Upgrade to head unless already there; threads and processes that race all end at head."""
    with _migrate_lock:
        for attempt in range(6):
            if current_revision(engine) == head_revision():
                return
            try:
                upgrade(engine)
                return
            except DBAPIError:
                if attempt == 5:
                    raise
                time.sleep(0.5 * (attempt + 1))   # another process migrated meanwhile: look again
