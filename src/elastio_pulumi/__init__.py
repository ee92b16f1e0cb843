"""Elastio ScaleZ for Pulumi: components that deploy the agentless backup service into your AWS account.

    from elastio_pulumi import AccountBootstrap, CloudConnector, Vault

`AccountBootstrap` once per account, a `CloudConnector` per region with its `Vault`s; each takes a small frozen
Args object checked when it is made, built from the parts in `elastio_pulumi.args` (`NetworkArgs`, `VaultSpec`,
`ObjectLock`, `ConnectorOptions`, `IamArgs`, `TenantArgs`; ids of your own resources may be Outputs). A bad value
raises `ArgsError`. `elastio_pulumi.stack_config` maps a `Pulumi.<stack>.yaml` to those Args.
The facts the deployed functions and engine share are in the separate package `elastio_contract`.

The components are imported on first use, so the pure modules (naming, documents, constants) load without
pulumi_aws.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_PUBLIC = {
    "AccountBootstrap": "elastio_pulumi.account",
    "AccountBootstrapArgs": "elastio_pulumi.account",
    "CloudConnector": "elastio_pulumi.connector",
    "CloudConnectorArgs": "elastio_pulumi.connector",
    "Vault": "elastio_pulumi.vault",
    "VaultArgs": "elastio_pulumi.vault",
    "ArgsError": "elastio_pulumi.errors",
    "ConnectorOptions": "elastio_pulumi.args",
    "IamArgs": "elastio_pulumi.args",
    "NetworkArgs": "elastio_pulumi.args",
    "ObjectLock": "elastio_pulumi.args",
    "TenantArgs": "elastio_pulumi.args",
    "VaultSpec": "elastio_pulumi.args",
}
__all__ = [
    "AccountBootstrap",
    "AccountBootstrapArgs",
    "ArgsError",
    "CloudConnector",
    "CloudConnectorArgs",
    "ConnectorOptions",
    "IamArgs",
    "NetworkArgs",
    "ObjectLock",
    "TenantArgs",
    "Vault",
    "VaultArgs",
    "VaultSpec",
]

if TYPE_CHECKING:
    from elastio_pulumi.account import AccountBootstrap, AccountBootstrapArgs
    from elastio_pulumi.args import ConnectorOptions, IamArgs, NetworkArgs, ObjectLock, TenantArgs, VaultSpec
    from elastio_pulumi.connector import CloudConnector, CloudConnectorArgs
    from elastio_pulumi.errors import ArgsError
    from elastio_pulumi.vault import Vault, VaultArgs


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'elastio_pulumi' has no attribute {name!r}")
