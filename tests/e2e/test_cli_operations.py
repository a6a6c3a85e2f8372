"""README promises of the operations commands, each run as an operator runs it (a subprocess, its
own ledger under BUMPLINE_HOME): `db current | upgrade | backup` on SQLite and PostgreSQL, and the
alarm webhook automation (`alarms webhook | off`) on a real Prefect server and without one."""
from __future__ import annotations

import shutil
import sqlite3
import subprocess

import pytest

from line.automations import ALARM_AUTOMATION
from line.ledger import Ledger
from line.ledger.database import head_revision
from line.recipes.identity import lookup
from tests.e2e.cli_home import home_env, said
from tests.support import SEED, cli, free_port, http_json, require_pg, scratch_database


def tables(conn: sqlite3.Connection) -> dict[str, int]:
    """Every table of a SQLite database with its row count."""
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                        "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}



# ---- 1. bumpline db current | upgrade | backup ------------------------------------------------
def test_db_current_upgrade_and_backup_on_sqlite(tmp_path):
    home, env = home_env(tmp_path)
    head = head_revision()
    before = cli("db", "current", env=env)
    assert before.returncode == 0, said(before)
    assert f"ledger sqlite:///{home / 'ledger.db'}: revision none; this code's head: {head}" in before.stdout

    up = cli("db", "upgrade", env=env)
    assert up.returncode == 0, said(up)
    assert f"ledger upgraded: empty → {head}" in up.stdout
    after = cli("db", "current", env=env)
    assert after.returncode == 0 and f"revision {head}; this code's head: {head}" in after.stdout, said(after)

    approved = cli("recipe", "approve", str(SEED), "--by", "alice", env=env)
    assert approved.returncode == 0, said(approved)
    backup = tmp_path / "backups" / "ledger-copy.db"
    backup.parent.mkdir()
    out = cli("db", "backup", "--to", str(backup), env=env)
    assert out.returncode == 0, said(out)
    assert f"ledger backed up to {backup}" in out.stdout

    copy = sqlite3.connect(backup)
    live = sqlite3.connect(home / "ledger.db")
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert tables(copy) == tables(live)                 # every table, every row
        assert {"lots", "wafers", "step_runs", "holds", "recipe_versions", "events"} <= set(tables(copy))
        assert copy.execute("SELECT version_num FROM alembic_version").fetchall() == [(head,)]
        assert copy.execute("SELECT doc_kind, name, version, status, approved_by FROM recipe_versions").fetchall() \
            == [("ToolRecipe", "pvd-ti100-cu300-seed", 1, "approved", "alice")]
    finally:
        copy.close()
        live.close()
    # the backup is a ledger the code opens as it is: at head, the approval there
    restored = Ledger(f"sqlite:///{backup}", migrate=False)
    row = lookup(restored, "ToolRecipe", "pvd-ti100-cu300-seed", 1)
    assert row is not None and (row.status, row.approved_by) == ("approved", "alice")
    restored.dispose()


def test_db_current_upgrade_and_backup_on_postgresql(tmp_path):
    require_pg()
    head = head_revision()
    with scratch_database("bumpline_cli_db") as url:
        _, env = home_env(tmp_path, BUMPLINE_DB_URL=url)
        before = cli("db", "current", env=env)
        assert before.returncode == 0, said(before)
        assert f"{url.rsplit('/', 1)[1]}: revision none; this code's head: {head}" in before.stdout
        up = cli("db", "upgrade", env=env)
        assert up.returncode == 0 and f"ledger upgraded: empty → {head}" in up.stdout, said(up)
        after = cli("db", "current", env=env)
        assert after.returncode == 0 and f"revision {head}; this code's head: {head}" in after.stdout, said(after)
        approved = cli("recipe", "approve", str(SEED), "--by", "alice", env=env)
        assert approved.returncode == 0, said(approved)

        dump = tmp_path / "ledger.dump"
        out = cli("db", "backup", "--to", str(dump), env=env)
        if shutil.which("pg_dump") is None:
            assert out.returncode == 1 and "pg_dump is not installed" in out.stderr, said(out)
            return
        assert out.returncode == 0 and f"ledger backed up to {dump}" in out.stdout, said(out)
        data = dump.read_bytes()
        assert len(data) > 0 and data.startswith(b"PGDMP")     # pg_dump's custom format
        if pg_restore := shutil.which("pg_restore"):           # and the approval row is in it
            rows = subprocess.run([pg_restore, "--data-only", "--table", "recipe_versions", "--file", "-", str(dump)],
                                  capture_output=True, text=True, timeout=60)
            assert rows.returncode == 0, rows.stderr
            assert "pvd-ti100-cu300-seed" in rows.stdout and "alice" in rows.stdout and "approved" in rows.stdout
            version = subprocess.run([pg_restore, "--data-only", "--table", "alembic_version", "--file", "-",
                                      str(dump)], capture_output=True, text=True, timeout=60)
            assert head in version.stdout


# ---- 2. bumpline alarms webhook | off ----------------------------------------------------------
def alarm_automations(api: str) -> list[dict]:
    return [a for a in http_json(api, "POST", "/automations/filter", {}) if a["name"] == ALARM_AUTOMATION]


def webhook_url_of(api: str, automation: dict) -> str:
    """Where the automation's one action posts: the URL of the Webhook block it calls."""
    (action,) = automation["actions"]
    assert action["type"] == "call-webhook", action
    block = http_json(api, "GET", f"/block_documents/{action['block_document_id']}?include_secrets=true")
    return block["data"]["url"]


@pytest.mark.prefect
def test_alarms_webhook_installs_replaces_and_off_removes_the_automation(prefect_server, tmp_path):
    _, env = home_env(tmp_path, PREFECT_API_URL=prefect_server)
    first_url, second_url = "https://alarms.fab.example/bumpline", "https://pager.fab.example/hooks/line-3"

    first = cli("alarms", "webhook", first_url, env=env)
    assert first.returncode == 0, said(first)
    assert f"every tool alarm → {first_url}" in first.stdout
    (installed,) = alarm_automations(prefect_server)
    assert installed["enabled"] and installed["trigger"]["expect"] == ["bumpline.tool.alarm.*"]
    assert installed["id"] in first.stdout
    assert webhook_url_of(prefect_server, installed) == first_url

    second = cli("alarms", "webhook", second_url, env=env)
    assert second.returncode == 0, said(second)
    (replaced,) = alarm_automations(prefect_server)            # still exactly one
    assert replaced["id"] != installed["id"] and replaced["id"] in second.stdout
    assert webhook_url_of(prefect_server, replaced) == second_url

    off = cli("alarms", "off", env=env)
    assert off.returncode == 0 and off.stdout.strip() == "removed", said(off)
    assert alarm_automations(prefect_server) == []
    again = cli("alarms", "off", env=env)
    assert again.returncode == 0 and again.stdout.strip() == "there was no alarm automation", said(again)


def test_alarms_webhook_and_off_without_a_prefect_server_are_one_line_and_exit_1(tmp_path):
    api = f"http://127.0.0.1:{free_port()}/api"
    _, env = home_env(tmp_path, PREFECT_API_URL=api)
    for args, what in ((("webhook", "https://alarms.fab.example/bumpline"), "install"), (("off",), "remove")):
        out = cli("alarms", *args, env=env)
        assert out.returncode == 1, said(out)
        assert "Traceback" not in out.stderr and out.stdout == ""
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error could not {what} the alarm automation at {api}: "), \
            said(out)
