"""Command types the tenant sends (the command queue) and event types the connector sends back (the tenant
events queue); envelopes and payloads: docs/CONTRACT.md, "Commands and events"."""

from __future__ import annotations

# command type -> the routed service (the router's ELASTIO_FUNCTIONS key) that handles it
COMMANDS: dict[str, str] = {
    "backup.start": "backgroundJobs",
    "restore.start": "backgroundJobs",
    "scan.start": "backgroundJobs",
    "job.cancel": "backgroundJobs",
    "job.status": "jobStatus",
    "server.start": "provisioner",
    "server.stop": "provisioner",
    "recovery-points.list": "catalog",
    "recovery-points.expire": "catalog",
    "recovery-point.register": "catalog",
    "integrity.run": "integrityChecks",
    "inventory.refresh": "inventory",
}
COMMAND_TYPES: tuple[str, ...] = tuple(COMMANDS)
# The services the router may invoke, by their key in ELASTIO_FUNCTIONS.
ROUTED_SERVICES: tuple[str, ...] = (
    "catalog", "provisioner", "backgroundJobs", "jobStatus", "integrityChecks", "inventory",
)

EVENT_TYPES: tuple[str, ...] = (
    "command.rejected",
    "job.submitted",
    "job.status",
    "job.progress",
    "job.completed",
    "job.failed",
    "server.state",
    "recovery-point.created",
    "recovery-points.listed",
    "recovery-points.expired",
    "integrity.report",
    "inventory.changed",
)
