"""A platform team's own Pulumi program with Elastio in it: the account bootstrap and one Cloud Connector from the
installed elastio-pulumi package, composed with resources the team manages here: the VPC, private subnets and
route table the vault tasks run in (their ids go to the connector as Outputs, so Pulumi creates them first) and
the ops queue that receives the connector's alerts, on the team's own provider and tags. No stack-file schema of
Elastio's: the components take small Args (elastio_pulumi.args) that check themselves when they are made.
"""

import json

import pulumi
import pulumi_aws as aws

from elastio_pulumi import AccountBootstrap, AccountBootstrapArgs, CloudConnector, CloudConnectorArgs, packaging
from elastio_pulumi.args import ConnectorOptions, IamArgs, NetworkArgs, TenantArgs, VaultSpec
from elastio_pulumi.tags import merged_tags

config = pulumi.Config()
region = "eu-west-1"
tags = merged_tags({"team": "platform", "cost-center": "1234"})  # adds the tag Elastio's IAM conditions use
provider = aws.Provider("platform-eu-west-1", region=region)
on_provider = pulumi.ResourceOptions(provider=provider)
account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=provider)).account_id

# Names of this team's IAM roles and policies carry its prefix (checked against IAM's limits right here).
iam = IamArgs(name_prefix="Platform")
account = AccountBootstrap(
    "elastio-account",
    AccountBootstrapArgs(
        account_id=account_id,
        tenant=TenantArgs(account_id=config.require("tenantAccountId")),
        external_id=config.require_secret("externalId"),
        regions=[region],
        iam=iam,
        tags=tags,
    ),
    opts=pulumi.ResourceOptions(providers=[provider]),
)

# The team's network for backup work: private subnets without NAT. The route table gets the free S3 and DynamoDB
# gateway endpoints from the connector (the bulk of the traffic, packs to S3, never crosses a NAT gateway).
vpc = aws.ec2.Vpc("backup", cidr_block="10.20.0.0/16", enable_dns_support=True, enable_dns_hostnames=True,
                  tags=tags, opts=on_provider)
route_table = aws.ec2.RouteTable("backup", vpc_id=vpc.id, tags=tags, opts=on_provider)
subnets = []
for index, zone in enumerate(("a", "b")):
    subnet = aws.ec2.Subnet(f"backup-{zone}", vpc_id=vpc.id, cidr_block=f"10.20.{index}.0/24",
                            availability_zone=f"{region}{zone}", tags=tags, opts=on_provider)
    aws.ec2.RouteTableAssociation(f"backup-{zone}", subnet_id=subnet.id, route_table_id=route_table.id,
                                  opts=on_provider)
    subnets.append(subnet)

connector = CloudConnector(
    f"elastio-{region}",
    CloudConnectorArgs(
        region=region,
        network=NetworkArgs(
            vpc_id=vpc.id,
            subnet_ids=[subnet.id for subnet in subnets],
            route_table_ids=[route_table.id],
            # Interface endpoints for the AWS APIs the tasks call: this VPC has no internet.
            private_link=True,
        ),
        vaults=[VaultSpec(name="primary")],
        options=ConnectorOptions(
            # A VPC without internet pulls only from its own region's private ECR (a pull-through cache of
            # Elastio's public images, for example).
            worker_image=config.require("workerImage"),
            server_image=config.require("serverImage"),
        ),
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
pulumi.export("backupSubnetIds", [subnet.id for subnet in subnets])
