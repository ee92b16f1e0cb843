"""Command and event envelopes (CONTRACT.md, "Command channel"): one pydantic model per command type."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from elastio_contract import messages

VaultName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")]
ResourceId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9:._/-]+$")]
SnapshotId = Annotated[str, Field(pattern=r"^snap-[0-9a-f]{8,17}$")]
JobId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
# Command ids are UUIDs kept exactly as sent (not re-cased): they come back as correlation ids and job ids.
UUID_PATTERN = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
CommandId = Annotated[str, Field(pattern=UUID_PATTERN)]

# ---- limits (CONTRACT.md, "Command envelope limits") ------------------------------------------------------
# SQS's maximum message size (262,144 bytes) bounds both commands and the events we send back.
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html
SQS_MESSAGE_BYTES = 256 * 1024
MAX_COMMAND_BYTES = SQS_MESSAGE_BYTES
# Events leave room for the message attribute (`type`) that counts towards the same limit.
MAX_EVENT_BYTES = SQS_MESSAGE_BYTES - 1024
# A command is at most envelope → payload → field; anything deeper is refused before it is parsed, so a
# crafted body cannot exhaust the parser's recursion (a RecursionError would loop to the dead-letter queue).
MAX_NESTING = 8
# Clocks differ a little; a command from further in the future is a client bug or a replay trick.
MAX_CLOCK_SKEW = timedelta(minutes=5)
# The oldest command a redrive can bring back: the command queue keeps a message 14 days and its
# dead-letter queue another 14 (src/elastio_pulumi/connector.py RETENTION_14_DAYS; a test ties them together).
QUEUE_RETENTION = timedelta(days=14)
DEAD_LETTER_RETENTION = timedelta(days=14)
MAX_COMMAND_AGE = QUEUE_RETENTION + DEAD_LETTER_RETENTION
# What a rejection echoes of a bad command, so `command.rejected` always fits in MAX_EVENT_BYTES.
_MAX_REASON = 2000
_MAX_ERRORS = 20
_MAX_ERROR_TEXT = 300
_MAX_TYPE_ECHO = 64


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
    nextToken: str | None = Field(default=None, max_length=2048, description="from the previous page")


class RecoveryPointRegisterPayload(_Model):
    vaultName: VaultName
    assetId: ResourceId
    recoveryPointId: ResourceId
    snapshotId: SnapshotId
    parentRecoveryPointId: ResourceId | None = None
    # Version-3 manifests (binary) end in .manifest, version 2 (JSON) in .json (docs/CONTRACT.md).
    manifestKey: Annotated[str, Field(pattern=r"^manifests/.+\.(manifest|json)$")]
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
    id: CommandId
    # Strict: JSON `true` and `1.0` are not version 1 (pydantic's lax mode would take both).
    version: Annotated[int, Field(strict=True, ge=1, le=1)]
    issuedAt: AwareDatetime


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
SERVICE_OF_COMMAND: dict[str, str] = messages.COMMANDS
assert set(SERVICE_OF_COMMAND) == {m.model_fields["type"].annotation.__args__[0] for m in COMMAND_MODELS}


class CommandRejected(ValueError):
    """The command cannot be accepted; `reason` and `errors` say why, for the tenant.

    Everything echoed from the command is cut to a bound, so the rejection always fits in one SQS message.
    """

    def __init__(self, reason: str, *, command_id: str | None = None, command_type: str | None = None,
                 errors: list[dict[str, str]] | None = None):
        super().__init__(reason)
        self.reason = _cut(reason, _MAX_REASON)
        self.command_id = command_id
        self.command_type = command_type
        self.errors = [{key: _cut(str(value), _MAX_ERROR_TEXT) for key, value in error.items()}
                       for error in (errors or [])[:_MAX_ERRORS]]

    @property
    def command_id(self) -> str | None:
        return self._command_id

    @command_id.setter
    def command_id(self, value: Any) -> None:
        # Only a well-formed id is echoed as the correlation id: anything else could be megabytes long.
        self._command_id = value if isinstance(value, str) and _is_uuid(value) else None

    @property
    def command_type(self) -> str | None:
        return self._command_type

    @command_type.setter
    def command_type(self, value: Any) -> None:
        self._command_type = _cut(value, _MAX_TYPE_ECHO) if isinstance(value, str) else None


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_uuid(text: str) -> bool:
    try:
        return len(text) == 36 and uuid.UUID(text) is not None
    except ValueError:
        return False


def _field_errors(error: ValidationError, command_type: str | None) -> list[dict[str, str]]:
    errors = []
    for item in error.errors(include_url=False, include_input=False)[:_MAX_ERRORS]:
        # A discriminated union puts the matched tag first ("backup.start.payload.x"); the tenant
        # thinks in envelope fields.
        loc = item["loc"][1:] if item["loc"][:1] == (command_type,) else item["loc"]
        errors.append({"field": ".".join(str(part) for part in loc) or "(envelope)", "message": item["msg"]})
    return errors


def json_nesting_exceeds(text: str, limit: int) -> bool:
    """Whether JSON text nests arrays/objects deeper than `limit` (brackets inside strings do not count)."""
    if text.count("[") + text.count("{") <= limit:
        return False  # too few brackets to nest that deep: skip the character walk
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def _value_nesting_exceeds(value: Any, limit: int) -> bool:
    """The same check for an already decoded value (a direct invocation), without recursion."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth + 1 > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def _decode(raw: str | bytes | dict[str, Any]) -> Any:
    if isinstance(raw, dict):
        if _value_nesting_exceeds(raw, MAX_NESTING):
            raise CommandRejected(f"the command nests deeper than {MAX_NESTING} levels")
        return raw
    size = len(raw.encode() if isinstance(raw, str) else raw)
    if size > MAX_COMMAND_BYTES:
        raise CommandRejected(f"the message body is {size} bytes; commands are at most {MAX_COMMAND_BYTES}")
    try:
        text = raw.decode() if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as error:
        raise CommandRejected(f"the message body is not UTF-8: {error}") from None
    if json_nesting_exceeds(text, MAX_NESTING):
        raise CommandRejected(f"the command nests deeper than {MAX_NESTING} levels")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise CommandRejected(f"the message body is not JSON: {error}") from None


def check_issued_at(issued_at: datetime, now: datetime) -> None:
    """issuedAt within [now - MAX_COMMAND_AGE, now + MAX_CLOCK_SKEW]: a redriven command still passes."""
    if issued_at > now + MAX_CLOCK_SKEW:
        raise CommandRejected(f"issuedAt {issued_at.isoformat()} is more than {MAX_CLOCK_SKEW} in the future; "
                              "check the sender's clock")
    if issued_at < now - MAX_COMMAND_AGE:
        raise CommandRejected(f"issuedAt {issued_at.isoformat()} is older than {MAX_COMMAND_AGE.days} days "
                              "(queue plus dead-letter retention); send a new command with a new id")


def parse_command(raw: str | bytes | dict[str, Any], now: datetime | None = None) -> Command:
    """Validate a command envelope; raise CommandRejected naming each bad field."""
    raw = _decode(raw)
    if not isinstance(raw, dict):
        raise CommandRejected(f"the command envelope must be a JSON object, got {type(raw).__name__}")
    command_id, command_type = raw.get("id"), raw.get("type")
    if isinstance(command_type, str) and command_type not in SERVICE_OF_COMMAND:
        raise CommandRejected(
            f"unknown command type {_cut(command_type, _MAX_TYPE_ECHO)!r}; "
            f"known types: {', '.join(sorted(SERVICE_OF_COMMAND))}",
            command_id=command_id, command_type=command_type)
    try:
        command = _COMMAND_ADAPTER.validate_python(raw)
    except ValidationError as error:
        errors = _field_errors(error, command_type if isinstance(command_type, str) else None)
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        shown_type = command_type if isinstance(command_type, str) else "command"
        raise CommandRejected(f"invalid {shown_type} envelope: {summary}",
                              command_id=command_id, command_type=command_type, errors=errors) from None
    try:
        check_issued_at(command.issuedAt, now or datetime.now(UTC))
    except CommandRejected as rejection:
        rejection.command_id, rejection.command_type = command.id, command.type
        raise
    return command


def command_to_json(command: Command) -> dict[str, Any]:
    return command.model_dump(mode="json", exclude_none=True)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def make_event(event_type: str, payload: dict[str, Any], correlation_id: str | None,
               event_id: str | None = None) -> dict[str, Any]:
    """An event envelope for the tenant: {id, correlationId, type, emittedAt, payload}."""
    return {
        "id": event_id or str(uuid.uuid4()),
        "correlationId": correlation_id,
        "type": event_type,
        "emittedAt": now_iso(),
        "payload": payload,
    }


class EventTooLarge(ValueError):
    """An event would not fit in one SQS message (a bug: listings page by size, rejections are cut)."""


def fit_event(event: dict[str, Any]) -> dict[str, Any]:
    size = len(json.dumps(event).encode())
    if size > MAX_EVENT_BYTES:
        raise EventTooLarge(f"{event['type']} event is {size} bytes, over the {MAX_EVENT_BYTES}-byte limit")
    return event
