"""Elastio ScaleZ in your AWS account: account bootstrap, then a Cloud Connector with its vaults per region."""

import pulumi
import pulumi_aws as aws

from components.account import AccountBootstrap, AccountBootstrapArgs
from components.config import ConfigError, from_pulumi
from components.tags import merged_tags

try:
    CONFIG, external_id = from_pulumi()
except ConfigError as err:
    # RunError ends the program with this message and no Python traceback.
    raise pulumi.RunError(f"invalid stack configuration (fix these keys in Pulumi.<stack>.yaml):\n{err}") from None

tags = merged_tags(CONFIG.tags)

# One provider per region, passed to the components: they never create their own.
providers = {
    region.region: aws.Provider(f"aws-{region.region}", region=region.region) for region in CONFIG.regions
}
home_provider = providers[CONFIG.account_region]
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
