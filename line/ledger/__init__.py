"""The ledger: every lot, wafer, step, job, tool state, alarm, measurement and event (SQLAlchemy 2)."""
from line.ledger.store import Ledger, default_url

__all__ = ["Ledger", "default_url"]
