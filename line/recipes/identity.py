"""Recipe identity and approval, kept in the ledger.

A version is immutable: name + version + SHA-256 of the canonical body. The first time the ledger
sees a version it records the hash (draft); a later body with the same version and another hash
was edited without a new version and is refused. Only approved versions run in production mode.
"""
from __future__ import annotations

import os

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from drivers.errors import BumplineError
from line.ledger import Ledger
from line.ledger import models as m


class VersionChanged(BumplineError):
    """A body that no longer matches the hash its version was first recorded with."""


class NotApproved(BumplineError):
    """Production mode and the version is still a draft."""


def production_mode() -> bool:
    return os.environ.get("BUMPLINE_MODE", "engineering").lower() == "production"


def lookup(ledger: Ledger, doc_kind: str, name: str, version: int) -> m.RecipeVersion | None:
    with ledger.session() as s:
        return s.scalars(select(m.RecipeVersion).where(m.RecipeVersion.doc_kind == doc_kind, m.RecipeVersion.name == name,
                                                       m.RecipeVersion.version == version)).first()


def changed_message(row: m.RecipeVersion, sha256: str, path: str) -> str:
    return (f"{row.name}@v{row.version} in {path} hashes to {sha256[:12]}, but the ledger recorded {row.sha256[:12]} "
            f"for that version ({row.status}, first seen {row.registered_at:%Y-%m-%d %H:%M} from {row.path}): "
            "the body was edited without a new version — bump metadata.version")


def register(ledger: Ledger, doc_kind: str, name: str, version: int, sha256: str, path: str) -> m.RecipeVersion:
    """Record a version on first sight; refuse a different body under a known version."""
    row = _seen(ledger, doc_kind, name, version, sha256, path)
    ledger.versions_seen[(doc_kind, name, version)] = row
    return row


def _seen(ledger: Ledger, doc_kind: str, name: str, version: int, sha256: str, path: str) -> m.RecipeVersion:
    row = lookup(ledger, doc_kind, name, version)
    if row is None:
        try:
            with ledger.session() as s:
                s.add(m.RecipeVersion(doc_kind=doc_kind, name=name, version=version, sha256=sha256, path=path))
                s.add(m.Event(entity="recipe", entity_id=f"{name}@v{version}", dest="draft", trigger="register",
                              data={"sha256": sha256, "kind": doc_kind, "path": path}))
        except IntegrityError:
            pass  # registered concurrently; compare below
        row = lookup(ledger, doc_kind, name, version)
        if row is None:
            raise NotApproved(f"{name}@v{version} could not be registered in the ledger")
    if row.sha256 != sha256:
        raise VersionChanged(changed_message(row, sha256, path))
    return row


def approve(ledger: Ledger, doc_kind: str, name: str, version: int, sha256: str, path: str, by: str,
            ran_by: str = "") -> m.RecipeVersion:
    """Draft → approved, by whom (and, in the event, the OS user who ran the approval)."""
    row = register(ledger, doc_kind, name, version, sha256, path)
    if row.status != "approved":
        with ledger.session() as s:
            r = Ledger.must(s, m.RecipeVersion, row.id)
            r.status, r.approved_by, r.approved_at = "approved", by, m.utcnow()
            s.add(m.Event(entity="recipe", entity_id=f"{name}@v{version}", source="draft", dest="approved",
                          trigger="approve", data={"by": by, "ran_by": ran_by, "sha256": sha256}))
        row = register(ledger, doc_kind, name, version, sha256, path)
    return row


def ensure_runnable(ledger: Ledger, doc_kind: str, name: str, version: int, sha256: str, path: str,
                    production: bool | None = None) -> m.RecipeVersion:
    """Before a job is set up: the version's hash still matches; in production it is approved.

    Asked at every step, it reads the ledger only while the answer could change: a version's hash
    is fixed once recorded and approval is never taken back, so a version this ledger already
    matched this body against — approved, or in engineering mode where approval is not asked — is
    answered from memory (`Ledger.versions_seen`); a draft in production is read again."""
    production = production_mode() if production is None else production
    known = ledger.versions_seen.get((doc_kind, name, version))
    if known is not None and known.sha256 == sha256 and (known.status == "approved" or not production):
        return known
    row = register(ledger, doc_kind, name, version, sha256, path)
    if production and row.status != "approved":
        raise NotApproved(f"{name}@v{version} is a draft: production mode runs approved versions only "
                          f"(bumpline recipe approve {path} --by NAME)")
    return row
