"""Command and event envelopes (CONTRACT.md, "Command channel"): one pydantic model per command type."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

VaultName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")]
ResourceId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9:._/-]+$")]
SnapshotId = Annotated[str, Field(pattern=r"^snap-[0-9a-f]{8,17}$")]
JobId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class _Model(BaseModel):
    # Unknown fields are refused so a typo in a tenant's command is an error, not silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---- payloads -------------------------------------------------------------------------------------------
class BackupStartPayload(_Model):
    vaultName: VaultName
    assetId: ResourceId
    snapshotId: SnapshotId
    parentRecoveryPointId: ResourceId | None = None


class RestoreStartPayload(_Model):
    vaultName: VaultName
    assetId: ResourceId
    recoveryPointId: ResourceId
    target: ResourceId = Field(description="where the restored data goes, e.g. an availability zone")


class ScanStartPayload(_Model):
    vaultName: VaultName
    assetId: ResourceId
    recoveryPointId: ResourceId


class JobRefPayload(_Model):
    jobId: JobId


class JobCancelPayload(_Model):
    jobId: JobId
    reason: str = Field(default="cancelled by the tenant", max_length=256)


class VaultPayload(_Model):
    vaultName: VaultName


class RecoveryPointsListPayload(_Model):
    vaultName: VaultName | None = None
    assetId: ResourceId | None = None
    limit: int = Field(default=100, ge=1, le=1000)


class RecoveryPointRegisterPayload(_Model):
    vaultName: VaultName
    assetId: ResourceId
    recoveryPointId: ResourceId
    snapshotId: SnapshotId
    parentRecoveryPointId: ResourceId | None = None
    manifestKey: Annotated[str, Field(pattern=r"^manifests/.+\.json$")]
    logicalBytes: int = Field(ge=0)
    storedBytes: int = Field(ge=0)
    newBytes: int = Field(ge=0)
    chunkCount: int = Field(ge=0)
    jobId: JobId
    createdAt: datetime
    retentionDays: int = Field(default=30, ge=1, le=36500)


class IntegrityRunPayload(_Model):
    vaultName: VaultName | None = None


class EmptyPayload(_Model):
    pass


# ---- envelopes ------------------------------------------------------------------------------------------
class _Command(_Model):
    id: uuid.UUID
    version: Literal[1]
    issuedAt: datetime


class BackupStart(_Command):
    type: Literal["backup.start"]
    payload: BackupStartPayload


class RestoreStart(_Command):
    type: Literal["restore.start"]
    payload: RestoreStartPayload


class ScanStart(_Command):
    type: Literal["scan.start"]
    payload: ScanStartPayload


class JobCancel(_Command):
    type: Literal["job.cancel"]
    payload: JobCancelPayload


class JobStatus(_Command):
    type: Literal["job.status"]
    payload: JobRefPayload


class ServerStart(_Command):
    type: Literal["server.start"]
    payload: VaultPayload


class ServerStop(_Command):
    type: Literal["server.stop"]
    payload: VaultPayload


class RecoveryPointsList(_Command):
    type: Literal["recovery-points.list"]
    payload: RecoveryPointsListPayload


class RecoveryPointsExpire(_Command):
    type: Literal["recovery-points.expire"]
    payload: VaultPayload


class RecoveryPointRegister(_Command):
    type: Literal["recovery-point.register"]
    payload: RecoveryPointRegisterPayload


class IntegrityRun(_Command):
    type: Literal["integrity.run"]
    payload: IntegrityRunPayload = IntegrityRunPayload()


class InventoryRefresh(_Command):
    type: Literal["inventory.refresh"]
    payload: EmptyPayload = EmptyPayload()


COMMAND_MODELS: tuple[type[_Command], ...] = (
    BackupStart, RestoreStart, ScanStart, JobCancel, JobStatus, ServerStart, ServerStop,
    RecoveryPointsList, RecoveryPointsExpire, RecoveryPointRegister, IntegrityRun, InventoryRefresh,
)
Command = Annotated[
    BackupStart | RestoreStart | ScanStart | JobCancel | JobStatus | ServerStart | ServerStop
    | RecoveryPointsList | RecoveryPointsExpire | RecoveryPointRegister | IntegrityRun | InventoryRefresh,
    Field(discriminator="type"),
]
_COMMAND_ADAPTER: TypeAdapter[Command] = TypeAdapter(Command)

# Which service (ELASTIO_FUNCTIONS key) handles each command type.
SERVICE_OF_COMMAND: dict[str, str] = {
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
assert set(SERVICE_OF_COMMAND) == {m.model_fields["type"].annotation.__args__[0] for m in COMMAND_MODELS}


class CommandRejected(ValueError):
    """The command cannot be accepted; `reason` and `errors` say why, for the tenant."""

    def __init__(self, reason: str, *, command_id: str | None = None, command_type: str | None = None,
                 errors: list[dict[str, str]] | None = None):
        super().__init__(reason)
        self.reason = reason
        self.command_id = command_id
        self.command_type = command_type
        self.errors = errors or []


def _field_errors(error: ValidationError, command_type: str | None) -> list[dict[str, str]]:
    errors = []
    for item in error.errors(include_url=False):
        # A discriminated union puts the matched tag first ("backup.start.payload.x"); the tenant
        # thinks in envelope fields.
        loc = item["loc"][1:] if item["loc"][:1] == (command_type,) else item["loc"]
        errors.append({"field": ".".join(str(part) for part in loc) or "(envelope)", "message": item["msg"]})
    return errors


def parse_command(raw: str | bytes | dict[str, Any]) -> Command:
    """Validate a command envelope; raise CommandRejected naming each bad field."""
    if isinstance(raw, str | bytes):
        try:
            raw = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise CommandRejected(f"the message body is not JSON: {error}") from None
    if not isinstance(raw, dict):
        raise CommandRejected(f"the command envelope must be a JSON object, got {type(raw).__name__}")
    command_id = raw.get("id") if isinstance(raw.get("id"), str) else None
    command_type = raw.get("type") if isinstance(raw.get("type"), str) else None
    if command_type is not None and command_type not in SERVICE_OF_COMMAND:
        raise CommandRejected(
            f"unknown command type {command_type!r}; known types: {', '.join(sorted(SERVICE_OF_COMMAND))}",
            command_id=command_id, command_type=command_type)
    try:
        return _COMMAND_ADAPTER.validate_python(raw)
    except ValidationError as error:
        errors = _field_errors(error, command_type)
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        raise CommandRejected(f"invalid {command_type or 'command'} envelope: {summary}",
                              command_id=command_id, command_type=command_type, errors=errors) from None


def command_to_json(command: Command) -> dict[str, Any]:
    return command.model_dump(mode="json", exclude_none=True)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def make_event(event_type: str, payload: dict[str, Any], correlation_id: str | None) -> dict[str, Any]:
    """An event envelope for the tenant: {id, correlationId, type, emittedAt, payload}."""
    return {
        "id": str(uuid.uuid4()),
        "correlationId": correlation_id,
        "type": event_type,
        "emittedAt": now_iso(),
        "payload": payload,
    }
