"""The planned Batch job timeout is inside what the engine's garbage collector assumes.

Compaction deletes a condemned chunk only after a grace period longer than any backup can run
(engine/README.md, "Why compaction is safe"), and the engine refuses to commit a manifest later than
MAX_BACKUP_SECONDS after it began. Batch's attempt timeout is set by the program (src/elastio_pulumi/vault.py), the
engine's bounds in engine/: two places, so this test reads both as they run. A job definition that let a backup
run past the grace period could commit a manifest naming chunks a concurrent compaction already deleted.
"""

from __future__ import annotations

from engine.compact import CompactionSettings
from engine.vault import MAX_BACKUP_SECONDS

JOB_DEFINITION = "aws:batch/jobDefinition:JobDefinition"


def test_no_planned_job_can_run_longer_than_a_backup_may_commit_or_than_the_gc_grace(example_plan):
    timeouts = {
        r.name: r.inputs["timeout"]["attemptDurationSeconds"]
        for r in example_plan.resources
        if r.type == JOB_DEFINITION
    }
    assert timeouts
    too_long = {name: seconds for name, seconds in timeouts.items() if seconds > MAX_BACKUP_SECONDS}
    assert too_long == {}
    assert MAX_BACKUP_SECONDS < CompactionSettings().grace_seconds
