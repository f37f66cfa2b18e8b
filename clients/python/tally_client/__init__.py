"""Python client for a Tally agent's HTTP API (standard library only, Python >= 3.9)."""
from .client import AsyncUsageTracker, TallyError, UsageTracker, new_ulid

__all__ = ["UsageTracker", "AsyncUsageTracker", "TallyError", "new_ulid"]
__version__ = "0.1.0"
