"""A platform team's own Pulumi program with Elastio in it: the account bootstrap and one Cloud Connector from the
installed elastio-pulumi package, composed with resources the team already manages here (its ops queue, which
receives the connector's alerts), on the team's own provider and tags. No stack-file schema of Elastio's: the
components take small Args that check themselves when they are made.
"""

import json

import pulumi
import pulumi_aws as aws

from elastio_pulumi import AccountBootstrap, AccountBootstrapArgs, CloudConnector, CloudConnectorArgs, packaging
from elastio_pulumi.config import IamConfig, NetworkConfig, OptionsConfig, RegionConfig, TenantConfig, VaultConfig
from elastio_pulumi.tags import merged_tags

config = pulumi.Config()
region = "eu-west-1"
tags = merged_tags({"team": "platform", "cost-center": "1234"})  # adds the tag Elastio's IAM conditions use
provider = aws.Provider("platform-eu-west-1", region=region)
on_provider = pulumi.ResourceOptions(provider=provider)
account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=provider)).account_id

# Names of this team's IAM roles and policies carry its prefix (checked against IAM's limits right here).
iam = IamConfig(name_prefix="Platform")
account = AccountBootstrap(
    "elastio-account",
    AccountBootstrapArgs(
        account_id=account_id,
        tenant=TenantConfig(account_id=config.require("tenantAccountId")),
        external_id=config.require_secret("externalId"),
        regions=[region],
        iam=iam,
        tags=tags,
    ),
    opts=pulumi.ResourceOptions(providers=[provider]),
)
connector = CloudConnector(
    f"elastio-{region}",
    CloudConnectorArgs(
        region=RegionConfig(
            region=region,
            network=NetworkConfig(
                vpc_id=config.require("vpcId"), subnet_ids=config.require_object("subnetIds"), assign_public_ip=True
            ),
            vaults=[VaultConfig(name="primary")],
        ),
        options=OptionsConfig(),
        iam=iam,
        account_id=account_id,
        tenant_role_arn=account.tenant_role_arn,
        permissions_boundary_arn=account.permissions_boundary_arn,
        code=packaging.function_code(),  # the functions ship inside the package
        layer_code=packaging.ensure_layer(),  # built once per lock into ~/.cache/elastio-pulumi (needs PyPI)
        tags=tags,
    ),
    opts=pulumi.ResourceOptions(providers=[provider]),
)

# The team's own resources, wired to the connector's outputs.
ops_queue = aws.sqs.Queue("ops-alerts", message_retention_seconds=14 * 24 * 3600, tags=tags, opts=on_provider)
aws.sqs.QueuePolicy(
    "ops-alerts-from-elastio",
    queue_url=ops_queue.url,
    policy=pulumi.Output.all(queue=ops_queue.arn, topic=connector.alerts_topic_arn).apply(
        lambda v: json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "sns.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": v["queue"],
                        "Condition": {"ArnEquals": {"aws:SourceArn": v["topic"]}},
                    }
                ],
            }
        )
    ),
    opts=on_provider,
)
aws.sns.TopicSubscription(
    "ops-alerts-subscription",
    topic=connector.alerts_topic_arn,
    protocol="sqs",
    endpoint=ops_queue.arn,
    raw_message_delivery=True,
    opts=on_provider,
)

pulumi.export("commandQueueUrl", connector.command_queue_url)
pulumi.export("tenantRoleArn", account.tenant_role_arn)
