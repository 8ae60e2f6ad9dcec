"""The worker's scheduler and its ticks."""

from __future__ import annotations

from server.worker import build_scheduler


def test_scheduler_has_the_ticks_and_is_not_started_by_building(app):
    scheduler = build_scheduler(app)
    assert {job.id for job in scheduler.get_jobs()} == {
        "dispatch",
        "reclaim_expired_leases",
        "check_accounts",
        "import_jobs",
        "registry_sync",
    }
    assert not scheduler.running
    scheduler.dispatcher.shutdown()
