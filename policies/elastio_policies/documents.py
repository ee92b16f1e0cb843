"""IAM policy documents (identity, trust and resource policies) as plain data: what each rule asks of them."""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from .values import as_list, is_unknown

# Where each resource type carries a policy document, as (input path, kind). The kind decides which rules
# apply: every rule reads every kind, except the trust rules, which only read trust policies.
IDENTITY, TRUST, RESOURCE = "identity policy", "trust policy", "resource policy"
POLICY_DOCUMENT_INPUTS: dict[str, tuple[tuple[tuple[str, ...], str], ...]] = {
    "aws:iam/role:Role": ((("assumeRolePolicy",), TRUST), (("inlinePolicies", "*", "policy"), IDENTITY)),
    "aws:iam/policy:Policy": ((("policy",), IDENTITY),),
    "aws:iam/rolePolicy:RolePolicy": ((("policy",), IDENTITY),),
    "aws:iam/userPolicy:UserPolicy": ((("policy",), IDENTITY),),
    "aws:iam/groupPolicy:GroupPolicy": ((("policy",), IDENTITY),),
    "aws:s3/bucket:Bucket": ((("policy",), RESOURCE),),
    "aws:s3/bucketV2:BucketV2": ((("policy",), RESOURCE),),
    "aws:s3/bucketPolicy:BucketPolicy": ((("policy",), RESOURCE),),
    "aws:sqs/queue:Queue": ((("policy",), RESOURCE),),
    "aws:sqs/queuePolicy:QueuePolicy": ((("policy",), RESOURCE),),
    "aws:sns/topic:Topic": ((("policy",), RESOURCE),),
    "aws:sns/topicPolicy:TopicPolicy": ((("policy",), RESOURCE),),
    "aws:kms/key:Key": ((("policy",), RESOURCE),),
    "aws:kms/keyPolicy:KeyPolicy": ((("policy",), RESOURCE),),
    "aws:ecr/repositoryPolicy:RepositoryPolicy": ((("policy",), RESOURCE),),
    "aws:cloudwatch/eventBusPolicy:EventBusPolicy": ((("policy",), RESOURCE),),
    "aws:secretsmanager/secretPolicy:SecretPolicy": ((("policy",), RESOURCE),),
}


@dataclass(frozen=True)
class Statement:
    """One statement, normalised: lists for the one-or-many fields, the raw Principal kept for its shape."""

    index: int
    sid: str
    effect: str
    actions: tuple[Any, ...]
    not_actions: tuple[Any, ...]
    resources: tuple[Any, ...]
    principal: Any
    not_principal: Any
    condition: Any

    @property
    def label(self) -> str:
        return f"statement {self.sid!r}" if self.sid else f"statement #{self.index + 1}"

    @property
    def allows(self) -> bool:
        return self.effect == "Allow"


def statements(document: dict) -> list[Statement]:
    """The document's statements; anything that is not a statement object is skipped, never fatal."""
    raw = document.get("Statement")
    result = []
    for index, item in enumerate(as_list(raw)):
        if not isinstance(item, dict):
            continue
        sid = item.get("Sid")
        result.append(
            Statement(
                index=index,
                sid=sid if isinstance(sid, str) else "",
                effect=item.get("Effect") if isinstance(item.get("Effect"), str) else "",
                actions=tuple(as_list(item.get("Action"))),
                not_actions=tuple(as_list(item.get("NotAction"))),
                resources=tuple(as_list(item.get("Resource"))),
                principal=item.get("Principal"),
                not_principal=item.get("NotPrincipal"),
                condition=item.get("Condition"),
            )
        )
    return result


def is_wildcard_principal(statement: Statement) -> bool:
    """Anyone: `"*"`, `{"AWS": "*"}` (also inside a list), or NotPrincipal (everyone except a few)."""
    if statement.not_principal is not None:
        return True
    principal = statement.principal
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return any(value == "*" for value in as_list(principal.get("AWS")))
    return False


def has_conditions(statement: Statement) -> bool:
    condition = statement.condition
    return is_unknown(condition) or (isinstance(condition, dict) and any(condition.values()))


def action_matches(pattern: Any, action: str) -> bool:
    """IAM action patterns are case-insensitive globs (`iam:Pass*` matches `iam:PassRole`)."""
    return isinstance(pattern, str) and fnmatchcase(action.lower(), pattern.lower())


def allows_action(statement: Statement, action: str) -> bool:
    return statement.allows and any(action_matches(pattern, action) for pattern in statement.actions)


def is_all_actions(pattern: Any) -> bool:
    return pattern in ("*", "*:*")


def condition_values(statement: Statement, operator: str, key: str) -> list[Any]:
    """Values of `key` under `operator` (both compared case-insensitively, as IAM does for keys)."""
    condition = statement.condition
    if not isinstance(condition, dict):
        return []
    values: list[Any] = []
    for op, block in condition.items():
        if not (isinstance(op, str) and op.lower() == operator.lower() and isinstance(block, dict)):
            continue
        for condition_key, value in block.items():
            if isinstance(condition_key, str) and condition_key.lower() == key.lower():
                values.extend(as_list(value))
    return values


@dataclass(frozen=True)
class FoundDocument:
    """A policy document found on a resource: parsed, or why it could not be read."""

    where: str  # e.g. "assumeRolePolicy" or "inlinePolicies[0].policy"
    kind: str
    document: dict | None = None
    error: str | None = None
    unknown: Any = None  # the UnknownValueError to raise once the known documents were judged


def documents_in(resource_type: str, props: dict) -> list[FoundDocument]:
    """Every policy document the resource type carries, as found in its (plain) inputs."""
    from pulumi_policy.proxy import UnknownValueError

    from .values import InvalidJson, parse_json_object

    found = []
    for path, kind in POLICY_DOCUMENT_INPUTS.get(resource_type, ()):
        for where, raw in _walk(props, path, []):
            if is_unknown(raw):
                found.append(FoundDocument(where, kind, unknown=UnknownValueError(raw, where.split("."))))
                continue
            try:
                document = parse_json_object(raw, where)
            except InvalidJson as error:
                found.append(FoundDocument(where, kind, error=str(error)))
                continue
            if document is not None:
                found.append(FoundDocument(where, kind, document=document))
    return found


def _walk(value: Any, path: tuple[str, ...], walked: list[str]):
    """(dotted path, value) for each match of `path`, where "*" walks every item of a list."""
    if not path:
        yield ".".join(walked), value
        return
    step, rest = path[0], path[1:]
    if is_unknown(value):
        yield ".".join(walked), value
    elif step == "*":
        if isinstance(value, list):
            for index, item in enumerate(value):
                indexed = [*walked[:-1], f"{walked[-1]}[{index}]"] if walked else [str(index)]
                yield from _walk(item, rest, indexed)
    elif isinstance(value, dict) and value.get(step) is not None:
        yield from _walk(value[step], rest, [*walked, step])
