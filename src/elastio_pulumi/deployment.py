"""The whole Elastio deployment of a stack config: one provider per region, the account bootstrap, a Cloud
Connector with its vaults per region, and the stack outputs the tenant needs.

`build(config, external_id)` is what this repository's `__main__.py` runs with the config of
`Pulumi.<stack>.yaml` (elastio_pulumi.stack_config.from_pulumi); a program of your own may call it with a
`DeploymentConfig` it made, or compose the components itself (examples/own-program).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from elastio_pulumi import packaging, stack_config
from elastio_pulumi.account import AccountBootstrap, AccountBootstrapArgs
from elastio_pulumi.config import DeploymentConfig
from elastio_pulumi.connector import CloudConnector, CloudConnectorArgs
from elastio_pulumi.tags import merged_tags


@dataclass(frozen=True)
class Deployment:
    account: AccountBootstrap
    connectors: dict[str, CloudConnector]


def build(config: DeploymentConfig, external_id: pulumi.Input[str]) -> Deployment:
    tags = merged_tags(config.tags)
    # The stack file's sections as the components' own Args (elastio_pulumi.args).
    iam = stack_config.iam_args(config.iam)
    options = stack_config.connector_options(config.options)

    # One provider per region, passed to the components: they never create their own.
    providers = {
        region.region: aws.Provider(f"aws-{region.region}", region=region.region) for region in config.regions
    }
    home_provider = providers[config.account_region]
    if config.options.adopt_retained:
        # Adopting what `pulumi destroy` kept imports it by name, and import ids must be known before anything
        # runs: the account id (part of each bucket name) is read now instead of as an Output.
        account_id = aws.get_caller_identity(opts=pulumi.InvokeOptions(provider=home_provider)).account_id
    else:
        account_id = aws.get_caller_identity_output(
            opts=pulumi.InvokeOutputOptions(provider=home_provider)
        ).account_id

    account = AccountBootstrap(
        "elastio-account",
        AccountBootstrapArgs(
            account_id=account_id,
            tenant=stack_config.tenant_args(config.tenant),
            external_id=external_id,
            regions=config.region_names,
            iam=iam,
            tags=tags,
            name_prefix=config.name_prefix,
        ),
        opts=pulumi.ResourceOptions(providers=[home_provider]),
    )

    pulumi.export("accountId", account_id)
    pulumi.export("tenantRoleArn", account.tenant_role_arn)
    pulumi.export("installerRoleArn", account.installer_role_arn)
    pulumi.export("permissionsBoundaryArn", account.permissions_boundary_arn)
    pulumi.export("managedPolicyArns", account.managed_policy_arns)

    # The functions' code and dependency layer: the same archives in every region (built once, see packaging.py).
    try:
        function_code = packaging.function_code()
        layer_code = packaging.ensure_layer()
    except packaging.PackagingError as err:
        raise pulumi.RunError(f"packaging the connector functions failed: {err}") from None

    connectors = {
        region.region: CloudConnector(
            f"elastio-{region.region}",
            CloudConnectorArgs(
                region=region.region,
                network=stack_config.network_args(region.network),
                vaults=[stack_config.vault_spec(vault) for vault in region.vaults],
                options=options,
                iam=iam,
                account_id=account_id,
                tenant_role_arn=account.tenant_role_arn,
                permissions_boundary_arn=account.permissions_boundary_arn,
                code=function_code,
                layer_code=layer_code,
                tags=tags,
                name_prefix=config.name_prefix,
            ),
            opts=pulumi.ResourceOptions(providers=[providers[region.region]]),
        )
        for region in config.regions
    }

    # What the tenant needs per region to talk to its connector.
    pulumi.export(
        "regions",
        {
            region: {
                "commandQueueUrl": connector.command_queue_url,
                "commandQueueArn": connector.command_queue_arn,
                "eventsQueueUrl": connector.events_queue_url,
                "eventsQueueArn": connector.events_queue_arn,
                "alertsTopicArn": connector.alerts_topic_arn,
                "vaultNames": connector.vault_names,
            }
            for region, connector in connectors.items()
        },
    )
    return Deployment(account=account, connectors=connectors)
