"""APScheduler wiring. APScheduler only wakes jobs; what is due lives in our own tables, so
every instance may run a scheduler against the shared database (see SPEC §6)."""

from scheduler.setup import create_scheduler

__all__ = ["create_scheduler"]
