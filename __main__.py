"""Elastio ScaleZ in your AWS account: account bootstrap, then a Cloud Connector with its vaults per region."""

import sys
from pathlib import Path

import pulumi
import pulumi_aws as aws

# The library lives in src/ (distribution elastio-pulumi). `pulumi up` installs the hash-locked requirements.txt,
# in which pip refuses an unhashed `.`, so the program imports the library from this checkout.
sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from elastio_pulumi import packaging  # noqa: E402
from elastio_pulumi.account import AccountBootstrap, AccountBootstrapArgs  # noqa: E402
from elastio_pulumi.config import ConfigError, from_pulumi  # noqa: E402
from elastio_pulumi.connector import CloudConnector, CloudConnectorArgs  # noqa: E402
from elastio_pulumi.tags import merged_tags  # noqa: E402

try:
    CONFIG, external_id = from_pulumi()
except ConfigError as err:
    # RunError ends the program with this message and no Python traceback.
    raise pulumi.RunError(
        f"invalid stack configuration (fix these keys in Pulumi.{pulumi.get_stack()}.yaml):\n{err}"
    ) from None

tags = merged_tags(CONFIG.tags)

# One provider per region, passed to the components: they never create their own.
providers = {
    region.region: aws.Provider(f"aws-{region.region}", region=region.region) for region in CONFIG.regions
}
home_provider = providers[CONFIG.account_region]
if CONFIG.options.adopt_retained:
    # Adopting what `pulumi destroy` kept imports it by name, and import ids must be known before anything
    # runs: the account id (part of each bucket name) is read now instead of as an Output.
    account_id = aws.get_caller_identity(opts=pulumi.InvokeOptions(provider=home_provider)).account_id
else:
    account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=home_provider)).account_id

account = AccountBootstrap(
    "elastio-account",
    AccountBootstrapArgs(
        account_id=account_id,
        tenant=CONFIG.tenant,
        external_id=external_id,
        regions=CONFIG.region_names,
        iam=CONFIG.iam,
        tags=tags,
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
            region=region,
            options=CONFIG.options,
            iam=CONFIG.iam,
            account_id=account_id,
            tenant_role_arn=account.tenant_role_arn,
            permissions_boundary_arn=account.permissions_boundary_arn,
            code=function_code,
            layer_code=layer_code,
            tags=tags,
        ),
        opts=pulumi.ResourceOptions(providers=[providers[region.region]]),
    )
    for region in CONFIG.regions
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
