"""The stack-file adapter: the `elastio:*` keys of `Pulumi.<stack>.yaml` -> a checked `DeploymentConfig`.

`parse_config` is pure: it takes the raw values of the `elastio:*` keys and returns a `DeploymentConfig` or
raises `ConfigError` listing every problem as `elastio:<path>: <value>: <what is allowed>`. `from_pulumi`
reads the same keys from `pulumi.Config` (where the CLI has already applied the defaults of Pulumi.yaml);
`parse_stack_values` reads them from the values the CLI hands a program (the offline plan).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

from elastio_pulumi import rules
from elastio_pulumi.args import ConnectorOptions, IamArgs, NetworkArgs, ObjectLock, TenantArgs, VaultSpec
from elastio_pulumi.config import (
    DeploymentConfig,
    IamConfig,
    NetworkConfig,
    OptionsConfig,
    TenantConfig,
    VaultConfig,
)

NAMESPACE = "elastio"

# Keys of the `elastio` namespace, as declared in Pulumi.yaml. `externalId` is read as a secret.
CONFIG_KEYS: tuple[str, ...] = (
    "tenant",
    "externalId",
    "namePrefix",
    "homeRegion",
    "regions",
    "iam",
    "options",
    "tags",
    "usage",
)
OBJECT_KEYS: frozenset[str] = frozenset({"tenant", "regions", "iam", "options", "tags", "usage"})

class ConfigError(Exception):
    """Bad stack configuration. `str()` is the whole message, one problem per line."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


# --- the stack file's sections as the components' Args ----------------------------------------------------

def tenant_args(tenant: TenantConfig) -> TenantArgs:
    return TenantArgs(account_id=tenant.account_id, role_arn=tenant.role_arn)


def iam_args(iam: IamConfig) -> IamArgs:
    return IamArgs(
        name_prefix=iam.name_prefix,
        name_suffix=iam.name_suffix,
        permissions_boundary_arn=iam.permissions_boundary_arn,
        installer_principals=tuple(iam.installer_principals),
        break_glass_role_arn=iam.break_glass_role_arn,
    )


def network_args(network: NetworkConfig) -> NetworkArgs:
    return NetworkArgs(
        vpc_id=network.vpc_id,
        subnet_ids=tuple(network.subnet_ids),
        route_table_ids=tuple(network.route_table_ids),
        private_link=network.private_link,
        assign_public_ip=network.assign_public_ip,
        existing_endpoints=tuple(network.existing_endpoints),
    )


def vault_spec(vault: VaultConfig) -> VaultSpec:
    lock = vault.object_lock
    return VaultSpec(
        name=vault.name,
        subnet_ids=tuple(vault.subnet_ids) if vault.subnet_ids else None,
        object_lock=ObjectLock(mode=lock.mode, days=lock.days) if lock else None,
    )


def connector_options(options: OptionsConfig) -> ConnectorOptions:
    return ConnectorOptions(
        tracing=options.tracing,
        compute_type=options.compute_type,
        worker_image=options.worker_image,
        server_image=options.server_image,
        alert_emails=tuple(options.alert_emails),
        log_retention_days=options.log_retention_days,
        adopt_retained=options.adopt_retained,
    )


# --- parsing and messages ------------------------------------------------------------------------------

def parse_config(raw: Mapping[str, Any]) -> DeploymentConfig:
    """Validate the raw `elastio:*` values (keys without the namespace). Raises ConfigError."""
    problems: list[str] = []
    unknown = sorted(set(raw) - set(CONFIG_KEYS))
    for key in unknown:
        problems.append(
            f"{NAMESPACE}:{key}: unknown key; the keys are {', '.join(CONFIG_KEYS)} (check the spelling)"
        )
    values = {k: v for k, v in raw.items() if k in CONFIG_KEYS and k != "externalId" and v not in (None, "")}
    if raw.get("externalId") in (None, ""):
        problems.append(
            f"{NAMESPACE}:externalId: missing; set it as a secret: "
            f"pulumi config set --secret {NAMESPACE}:externalId <the external id from your Elastio tenant>"
        )
    try:
        cfg = DeploymentConfig.model_validate(values)
    except ValidationError as err:
        problems += [_describe(e) for e in err.errors()]
        cfg = None
    if cfg is not None:
        problems += private_link_image_problems(cfg)
    if problems:
        raise ConfigError(problems)
    assert cfg is not None
    return cfg


def private_link_image_problems(cfg: DeploymentConfig) -> list[str]:
    """Images a region with privateLink cannot pull: only its own region's private ECR has an endpoint there."""
    problems = []
    for key, image in (("workerImage", cfg.options.worker_image), ("serverImage", cfg.options.server_image)):
        unreachable = [
            region.region
            for region in cfg.regions
            if region.network.private_link
            and not rules.pulls_privately(image, region.region)
        ]
        if unreachable:
            problems.append(
                f"{NAMESPACE}:options.{key}: {json.dumps(image)} cannot be pulled in {', '.join(unreachable)} "
                "(privateLink: true, no internet, and only the region's own private ECR has an endpoint); push "
                "the image to a private ECR repository or ECR pull-through cache in this account and name it "
                "as <account>.dkr.ecr.{region}.amazonaws.com/<repository>:<tag>"
            )
    return problems


def _path(loc: tuple[Any, ...]) -> str:
    path = NAMESPACE + ":"
    for i, part in enumerate(loc):
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in ("function-after", "function-before", "constrained-str", "str", "int", "float", "bool"):
            continue  # pydantic's internal step names, not keys
        else:
            path += ("." if i else "") + str(part)
    return path


# pydantic's bound errors, said the way the rest of the messages are: "<value> is above the maximum, 1".
_BOUNDS = {
    "less_than_equal": ("le", "is above the maximum"),
    "greater_than_equal": ("ge", "is below the minimum"),
    "less_than": ("lt", "must be less than"),
    "greater_than": ("gt", "must be greater than"),
}


def _lowered(message: str) -> str:
    """pydantic's sentence as the tail of ours."""
    return message[:1].lower() + message[1:]


def _describe(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    path = _path(tuple(error["loc"]))
    value = error.get("input")
    shown = json.dumps(value, default=str) if not isinstance(value, dict) else "{...}"
    if kind == "missing":
        return f"{path}: missing; this key is required"
    if kind == "extra_forbidden":
        return f"{path}: unknown key (check the spelling; see the config reference in README.md)"
    message = str(error.get("msg", "is not valid"))
    message = message.removeprefix("Value error, ")
    if kind == "literal_error":
        message = f"is not allowed; {_lowered(message)}"
    if kind in ("string_type", "int_type", "bool_type", "list_type", "dict_type", "model_type", "float_type"):
        message = f"has the wrong type; {_lowered(message)}"
    if kind == "model_attributes_type":
        message = "must be an object (a map of keys)"
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        bound = error.get("ctx", {}).get(key)
        message = f"{words}, {bound:g}" if isinstance(bound, (int, float)) else f"{words}, {bound}"
    if kind.startswith(("too_short", "too_long")):
        message = _lowered(message)
    if isinstance(value, (dict, list)) and kind == "value_error":
        return f"{path}: {message}"
    return f"{path}: {shown} {message}"


def from_pulumi() -> tuple[DeploymentConfig, Any]:
    """Read and validate the stack config. Returns the config and the external id as a secret Output."""
    import pulumi

    config = pulumi.Config(NAMESPACE)
    cfg = parse_config(_raw(config.get, lambda key: config.get_secret(key) is not None, configured_keys()))
    return cfg, config.require_secret("externalId")


def parse_stack_values(values: Mapping[str, str]) -> DeploymentConfig:
    """The same config from the values the CLI hands a program (`elastio:<key>` -> string, objects as JSON): what
    the offline plan reads, so it needs no global of the program. Raises ConfigError."""
    ours = {key.split(":", 1)[1] for key in values if key.startswith(NAMESPACE + ":")}
    def get(key: str) -> str | None:
        return values.get(f"{NAMESPACE}:{key}")

    return parse_config(_raw(get, lambda key: get(key) not in (None, ""), sorted(ours | set(CONFIG_KEYS))))


def _raw(get: Callable[[str], str | None], is_set: Callable[[str], bool], keys: list[str]) -> dict[str, Any]:
    """The `elastio:*` values as parse_config takes them: objects decoded, the external id only as present or
    not (its value stays a secret Output)."""
    raw: dict[str, Any] = {}
    for key in keys:
        if key == "externalId":
            raw[key] = "<secret>" if is_set(key) else None  # read as a secret, never in plain text
        elif key in OBJECT_KEYS:
            raw[key] = _object(get(key))
        else:
            raw[key] = get(key)
    return raw


def _object(text: str | None) -> Any:
    if text in (None, ""):
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text  # validation reports the wrong type with the key path


def configured_keys() -> list[str]:
    """The `elastio:*` keys set for this stack (declared keys plus any unknown ones, to reject typos)."""
    ours = {key.split(":", 1)[1] for key in _set_config_keys() if key.startswith(NAMESPACE + ":")}
    return sorted(ours | set(CONFIG_KEYS))


def _set_config_keys() -> set[str]:
    """Every config key this run was given, in every namespace: the one read of an SDK internal here.

    Pulumi has no public way to list config keys (checked in pulumi 3.272 and on pulumi/pulumi master,
    sdk/python/lib/pulumi): `pulumi.Config` reads one key at a time, and the public
    `pulumi.runtime.get_config_env()` holds only what the CLI passes in `PULUMI_CONFIG`. The language host
    (sdk/python/cmd/pulumi-language-python-exec), Automation API inline programs (automation/_server.py) and
    `set_mocks` runs all store the config with the public `pulumi.runtime.set_all_config`, whose only store is
    `pulumi.runtime.config.CONFIG`. tests/test_stack_config.py sets a key through `set_all_config` and fails if
    this stops seeing it, so an SDK upgrade cannot quietly switch off the typo check."""
    from pulumi.runtime import config as runtime_config

    return set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
