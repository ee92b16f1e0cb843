"""Where the vault tasks can connect to, read off the planned example stack as AWS applies security groups
(inline egress of the group plus its separate egress rules; issue 11): with PrivateLink only the interface
endpoints and the S3/DynamoDB gateway prefix lists on HTTPS, otherwise HTTPS anywhere."""

from __future__ import annotations

from plan import Plan

SG = "aws:ec2/securityGroup:SecurityGroup"
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
RULE_DESTINATIONS = (("cidr", "cidrIpv4"), ("group", "referencedSecurityGroupId"), ("prefix-list", "prefixListId"))


def _vault_tasks_group(plan: Plan, region: str):
    return next(r for r in plan.resources if r.type == SG and r.region == region and r.name.endswith("vault-tasks"))


def destinations(plan: Plan, region: str) -> set[tuple[str, str, int, int]]:
    """(kind, destination, from port, to port) the region's vault-task group lets traffic out to."""
    group = _vault_tasks_group(plan, region)
    group_id = f"{group.name}-id"  # the mock's physical id (plan/fake_cloud.py)
    found = {
        ("cidr", cidr, int(rule["fromPort"]), int(rule["toPort"]))
        for rule in group.inputs.get("egress") or []
        for cidr in rule.get("cidrBlocks", [])
    }
    for rule in (r.inputs for r in plan.resources if r.type == EGRESS_RULE and r.region == region):
        if rule["securityGroupId"] != group_id:
            continue
        ports = (int(rule["fromPort"]), int(rule["toPort"]))
        for kind, key in RULE_DESTINATIONS:
            if rule.get(key):
                found.add((kind, rule[key], *ports))
    return found


def test_with_private_link_vault_tasks_reach_only_the_endpoints_and_the_gateway_prefix_lists(example_plan):
    region = "us-east-1"  # privateLink: true in Pulumi.example.yaml
    endpoints_group = next(
        r for r in example_plan.resources if r.type == SG and r.region == region and r.name.endswith("-endpoints")
    )
    # plan/fake_cloud.py answers aws.ec2.get_prefix_list(name=...) with id pl-<name>, as AWS names one list.
    expected = {("group", f"{endpoints_group.name}-id", 443, 443)}
    expected |= {("prefix-list", f"pl-com.amazonaws.{region}.{s}", 443, 443) for s in ("s3", "dynamodb")}
    assert destinations(example_plan, region) == expected


def test_the_endpoints_admit_the_vault_tasks(example_plan):
    region = "us-east-1"
    endpoints_group = next(
        r for r in example_plan.resources if r.type == SG and r.region == region and r.name.endswith("-endpoints")
    )
    admitted = {g for rule in endpoints_group.inputs["ingress"] for g in rule["securityGroups"]}
    assert admitted == {f"{_vault_tasks_group(example_plan, region).name}-id"}


def test_without_private_link_vault_tasks_reach_aws_apis_over_https_anywhere(example_plan):
    assert destinations(example_plan, "eu-west-1") == {("cidr", "0.0.0.0/0", 443, 443)}
