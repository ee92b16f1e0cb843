"""The rules a deployment's values must meet, as plain functions: one source for the stack file's schema
(elastio_pulumi.config wraps them as pydantic validators) and the components' Args (elastio_pulumi.args calls
them when the Args are made). Pure: no pydantic, no Pulumi.

A value check returns the value or raises ValueError whose message continues "<key> <value> ...": what is
wrong and what is allowed. A rule across several values returns its problems as sentences; `key` spells a
field's name the way its caller's user writes it (camelCase in the stack file, snake_case in Python).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from elastio_pulumi.constants import (
    ENDPOINT_SERVICES,
    GATEWAY_SERVICES,
    MAX_VAULTS_PER_REGION,
    SUPPORTED_REGIONS,
    VAULT_NAME_MAX,
)

# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
LOG_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)
COMPUTE_TYPES: tuple[str, ...] = ("FARGATE", "FARGATE_SPOT")
OBJECT_LOCK_MODES: tuple[str, ...] = ("GOVERNANCE", "COMPLIANCE")
OBJECT_LOCK_DAYS = (1, 36500)

DEFAULT_WORKER_IMAGE = "public.ecr.aws/elastio/scalez-worker:1.0.0"
DEFAULT_SERVER_IMAGE = "public.ecr.aws/elastio/scalez-server:1.0.0"
# An image may name its region: `123456789012.dkr.ecr.{region}.amazonaws.com/scalez-worker@sha256:...` is filled
# in per region, so every region pulls from its own registry.
REGION_PLACEHOLDER = "{region}"
# A private ECR registry: the only one a VPC without internet reaches, through its own region's ecr.api and
# ecr.dkr interface endpoints (public ECR, public.ecr.aws, has no PrivateLink endpoint).
PRIVATE_ECR_HOST = re.compile(r"\d{12}\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com")

Check = Callable[[str], str]


def pattern(regex: str, what: str) -> Check:
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"is not {what}")
        return value

    return check


account_id = pattern(r"\d{12}", "a 12-digit AWS account id")
vpc_id = pattern(r"vpc-(?:[0-9a-f]{8}|[0-9a-f]{17})", "a VPC id like vpc-0123456789abcdef0")
subnet_id = pattern(r"subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})", "a subnet id like subnet-0123456789abcdef0")
route_table_id = pattern(r"rtb-(?:[0-9a-f]{8}|[0-9a-f]{17})", "a route table id like rtb-0123456789abcdef0")
role_arn = pattern(
    r"arn:aws:iam::\d{12}:role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}",
    "an IAM role ARN like arn:aws:iam::123456789012:role/Name",
)
principal_arn = pattern(
    r"arn:aws:iam::\d{12}:(?:root|(?:role|user)/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64})",
    "an IAM principal ARN (arn:aws:iam::<account>:root, :role/<name> or :user/<name>)",
)
policy_arn = pattern(
    r"arn:aws:iam::(?:\d{12}|aws):policy/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,128}",
    "an IAM managed policy ARN like arn:aws:iam::123456789012:policy/Boundary",
)
IAM_AFFIX_MAX = 20
_iam_affix_characters = pattern(r"[\w+=,.@-]*", "made of letters, digits and + = , . @ _ - only (IAM name characters)")
email = pattern(r"[^@\s]+@[^@\s]+\.[^@\s]+", "an email address")


def iam_affix(value: str) -> str:
    """An IAM name prefix or suffix."""
    if len(value) > IAM_AFFIX_MAX:
        raise ValueError(f"is {len(value)} characters, at most {IAM_AFFIX_MAX}")
    return _iam_affix_characters(value)


_IMAGE = re.compile(
    r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\.[a-z0-9-]+)*(?::\d+)?(?:/[a-z0-9._-]+)+(?::[\w.-]{1,128}|@sha256:[0-9a-f]{64})"
)


def image_in_region(image: str, region: str) -> str:
    """The image a region pulls: `{region}` in the reference becomes that region."""
    return image.replace(REGION_PLACEHOLDER, region)


def image(value: str) -> str:
    if not _IMAGE.fullmatch(image_in_region(value, SUPPORTED_REGIONS[0])):
        raise ValueError(
            "is not a container image reference with a tag or digest, like 123456789012.dkr.ecr.{region}."
            "amazonaws.com/scalez-worker:1.0.0 ({region} is filled in per region)"
        )
    return value


def pulls_privately(image: str, region: str) -> bool:
    """A region without internet (PrivateLink) pulls only from its own region's private ECR."""
    host = PRIVATE_ECR_HOST.fullmatch(image_in_region(image, region).split("/", 1)[0])
    return host is not None and host["region"] == region


def region(value: str) -> str:
    if value not in SUPPORTED_REGIONS:
        raise ValueError(f"is not a supported region; supported: {', '.join(SUPPORTED_REGIONS)}")
    return value


_VAULT_NAME = re.compile(r"[a-z][a-z0-9-]*[a-z0-9]")


def vault_name(value: str) -> str:
    if not (3 <= len(value) <= VAULT_NAME_MAX) or not _VAULT_NAME.fullmatch(value) or "--" in value:
        raise ValueError(
            f"is not a valid vault name: use 3 to {VAULT_NAME_MAX} lowercase letters, digits and single hyphens, "
            "starting with a letter (it becomes part of S3, DynamoDB, Batch and IAM names)"
        )
    return value


def log_retention_days(days: int) -> int:
    if days not in LOG_RETENTION_DAYS:
        raise ValueError(
            f"is not a CloudWatch Logs retention period; allowed: {', '.join(map(str, LOG_RETENTION_DAYS))}"
        )
    return days


def endpoint_services(services: Sequence[str]) -> Sequence[str]:
    unknown = [s for s in services if s not in ENDPOINT_SERVICES]
    if unknown:
        raise ValueError(
            f"{', '.join(map(repr, unknown))} is not an endpoint the vault tasks use; "
            f"the names are {', '.join(ENDPOINT_SERVICES)}"
        )
    repeated = sorted({s for s in services if list(services).count(s) > 1})
    if repeated:
        raise ValueError(f"lists {', '.join(map(repr, repeated))} more than once; name each service once")
    return services


def vault_names(names: Sequence[str]) -> Sequence[str]:
    """The vault names of one region."""
    if not names:
        raise ValueError("no vaults given, at least 1 per region")
    if len(names) > MAX_VAULTS_PER_REGION:
        raise ValueError(f"{len(names)} vaults given, at most {MAX_VAULTS_PER_REGION} per region")
    repeated = sorted({n for n in names if list(names).count(n) > 1})
    if repeated:
        raise ValueError(f"vault names must be unique within a region; repeated: {', '.join(repeated)}")
    return names


def tenant_role_problems(role_arn: str | None, account_id: str, key: Callable[[str], str]) -> list[str]:
    """The tenant's role must be a role of the tenant's account."""
    if role_arn and role_arn.split(":")[4] != account_id:
        return [
            f"{key('role_arn')} {role_arn!r} is not in the tenant account {account_id}: use a role of that account"
        ]
    return []


def network_problems(
    *,
    private_link: bool,
    assign_public_ip: bool,
    route_tables_given: bool,
    existing_endpoints: Sequence[str],
    key: Callable[[str], str],
) -> list[str]:
    """A region's network choices that cannot work together."""
    problems = []
    gateways_exist = set(GATEWAY_SERVICES) <= set(existing_endpoints)
    if private_link and not route_tables_given and not gateways_exist:
        problems.append(
            f"{key('private_link')} is true but {key('route_table_ids')} is empty: the S3 gateway endpoint on the "
            "subnets' route tables is the only private route to the vault bucket and image layers; list them (or "
            f"list s3 and dynamodb in {key('existing_endpoints')} if the route tables already have those gateway "
            "endpoints)"
        )
    if private_link and assign_public_ip:
        problems.append(
            f"{key('private_link')} and {key('assign_public_ip')} are both true: choose one (PrivateLink is for "
            "VPCs without internet)"
        )
    return problems
