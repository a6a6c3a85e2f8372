"""The ledger: every lot, wafer, step, job, tool state, alarm, measurement and event (SQLAlchemy 2)."""
from line.ledger.database import default_url
from line.ledger.store import Ledger

__all__ = ["Ledger", "default_url"]
