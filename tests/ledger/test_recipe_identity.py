"""Recipe identity and approval in the ledger, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from line.ledger import Ledger
from line.recipes.identity import NotApproved, VersionChanged, approve, ensure_runnable, lookup, register


def test_a_version_is_immutable(db_url):
    ledger = Ledger(db_url)
    first = register(ledger, "ToolRecipe", "seed", 1, "a" * 64, "recipes/seed.yaml")
    assert first.status == "draft"
    assert register(ledger, "ToolRecipe", "seed", 1, "a" * 64, "elsewhere.yaml").id == first.id
    with pytest.raises(VersionChanged, match="edited without a new version"):
        register(ledger, "ToolRecipe", "seed", 1, "b" * 64, "recipes/seed.yaml")
    assert register(ledger, "ToolRecipe", "seed", 2, "b" * 64, "recipes/seed.yaml").version == 2
    ledger.dispose()


def test_approval_records_who_and_when_and_gates_production(db_url):
    ledger = Ledger(db_url)
    with pytest.raises(NotApproved, match="draft"):
        ensure_runnable(ledger, "ToolRecipe", "seed", 1, "a" * 64, "s.yaml", production=True)
    assert ensure_runnable(ledger, "ToolRecipe", "seed", 1, "a" * 64, "s.yaml", production=False).status == "draft"
    row = approve(ledger, "ToolRecipe", "seed", 1, "a" * 64, "s.yaml", by="alice")
    assert (row.status, row.approved_by) == ("approved", "alice") and row.approved_at is not None
    assert ensure_runnable(ledger, "ToolRecipe", "seed", 1, "a" * 64, "s.yaml", production=True).status == "approved"
    with pytest.raises(VersionChanged, match="seed@v1 in s.yaml hashes to cccccccccccc, but the ledger recorded aaaaaaaaaaaa"):
        approve(ledger, "ToolRecipe", "seed", 1, "c" * 64, "s.yaml", by="mallory")
    assert lookup(ledger, "ToolRecipe", "seed", 1).approved_by == "alice"
    assert [e.dest for e in ledger.events("recipe", "seed@v1")] == ["draft", "approved"]
    ledger.dispose()


def test_a_step_reads_a_version_again_only_while_its_answer_could_change(db_url):
    """Asked at every step: from memory once this ledger matched the body (approved, or engineering
    mode), read again while a draft must be approved (an approval made elsewhere is seen), and an
    edited body is refused however often the version was answered before."""
    from sqlalchemy import event

    ledger, elsewhere = Ledger(db_url), Ledger(db_url)     # elsewhere: another process's ledger
    reads: list[str] = []
    event.listen(ledger.engine, "before_cursor_execute",
                 lambda *a: reads.append(a[2]) if "recipe_versions" in a[2] else None)
    ensure_runnable(ledger, "ToolRecipe", "seed", 1, "a" * 64, "s.yaml", production=False)   # registers it
    reads.clear()
    for _ in range(3):
        ensure_runnable(ledger, "ToolRecipe", "seed", 1, "a" * 64, "s.yaml", production=False)
    assert reads == []
    with pytest.raises(VersionChanged, match="edited without a new version"):
        ensure_runnable(ledger, "ToolRecipe", "seed", 1, "b" * 64, "s.yaml", production=False)
    reads.clear()
    for _ in range(2):
        with pytest.raises(NotApproved, match="draft"):
            ensure_runnable(ledger, "ToolRecipe", "seed", 1, "a" * 64, "s.yaml", production=True)
    assert len(reads) == 2                                   # a draft in production: read each time
    approve(elsewhere, "ToolRecipe", "seed", 1, "a" * 64, "s.yaml", by="alice")
    assert ensure_runnable(ledger, "ToolRecipe", "seed", 1, "a" * 64, "s.yaml", production=True).status == "approved"
    reads.clear()
    assert ensure_runnable(ledger, "ToolRecipe", "seed", 1, "a" * 64, "s.yaml", production=True).approved_by == "alice"
    assert reads == []
    ledger.dispose()
    elsewhere.dispose()
