"""Why a name prefix is lowercase letters and digits only (naming.py): for any two prefixes, no resource pattern of
one deployment's account-level documents matches a name of the other's. Pure: the documents and the names come
from the program's own builders, the matching is IAM's (tests/iam/evaluator.py); hypothesis picks the prefixes,
and the examples it must try include one prefix extending the other (elastio, elastiostaging)."""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from elastio_pulumi import connector_documents, iam_documents, naming
from elastio_pulumi.constants import MANAGED_POLICY_NAMES
from tests.iam.evaluator import resource_matches

ACCOUNT = "111122223333"
REGION = "us-east-1"
VAULTS = ("primary", "compliance", "staging-primary")

prefixes = st.from_regex(naming.NAME_PREFIX_PATTERN, fullmatch=True).filter(
    lambda p: len(p) <= naming.NAME_PREFIX_MAX
)


def patterns(prefix: str) -> set[str]:
    """Every Resource of the account-level documents (installer, boundary, tenant, people) of a deployment."""
    scope = iam_documents.AccountScope(ACCOUNT, (REGION,), naming.IamNaming("", "", prefix))
    boundary = iam_documents.policy_arn(scope, naming.default_boundary_name(scope.iam))
    documents = [
        *iam_documents.installer_policies(scope, boundary),
        iam_documents.default_permissions_boundary(scope),
        iam_documents.tenant_access_policy(scope),
        *iam_documents.managed_policies(scope).values(),
    ]
    found = set()
    for document in documents:
        for statement in document["Statement"]:
            if statement["Effect"] != "Allow":
                continue  # a Deny reaching further only takes away
            resources = statement["Resource"]
            found |= {resources} if isinstance(resources, str) else set(resources)
    # "*" and "<kind>/*" (keys, security groups, jobs: scoped by tag or not at all) address no name.
    return {p for p in found if not re.fullmatch(r"\*|[a-z-]+[/:]\*", p.split(":", 5)[-1])}


def names(prefix: str) -> set[str]:
    """ARNs of the resources a deployment with this prefix creates (regional ones in REGION)."""
    iam = naming.IamNaming("", "", prefix)
    connector = connector_documents.ConnectorScope(REGION, ACCOUNT, "k", "t", name_prefix=prefix)
    arns = {connector.table_arn(t) for t in naming.TABLES}
    arns |= {connector.queue_arn(q) for q in naming.QUEUES}
    arns |= {connector.function_arn(f) for f in naming.FUNCTIONS} | {connector.topic_arn()}
    arns |= {connector.log_group_arn(f).removesuffix(":*") for f in naming.FUNCTIONS}
    arns |= {naming.arn("lambda", REGION, ACCOUNT, f"layer:{naming.layer_name(prefix)}")}
    arns |= {naming.arn("events", REGION, ACCOUNT, f"rule/{naming.rule_name(prefix, 'batch-job-state')}")}
    arns |= {naming.arn("kms", REGION, ACCOUNT, naming.connector_key_alias_name(prefix))}
    for vault in VAULTS:
        arns |= {
            f"arn:aws:s3:::{naming.vault_bucket_name(prefix, vault, ACCOUNT, REGION)}",
            naming.arn("dynamodb", REGION, ACCOUNT, f"table/{naming.vault_index_table_name(prefix, vault)}"),
            naming.arn("batch", REGION, ACCOUNT, f"job-queue/{naming.vault_resource_name(prefix, vault)}"),
            naming.arn("ecs", REGION, ACCOUNT, f"cluster/{naming.vault_resource_name(prefix, vault)}"),
            naming.arn("logs", REGION, ACCOUNT, f"log-group:{naming.vault_log_group_name(prefix, vault)}"),
            naming.arn("kms", REGION, ACCOUNT, naming.vault_key_alias_name(prefix, vault)),
        }
        arns |= {naming.iam_arn(ACCOUNT, f"role/{naming.vault_role_name(iam, vault, REGION, k)}") for k in ("task",)}
    roles = [naming.tenant_role_name(iam), naming.installer_role_name(iam)]
    roles += [naming.function_role_name(iam, f, REGION) for f in naming.FUNCTIONS]
    policies = [naming.default_boundary_name(iam), naming.installer_policy_name(iam, 1)]
    policies += [naming.managed_policy_name(iam, base) for base in MANAGED_POLICY_NAMES]
    arns |= {naming.iam_arn(ACCOUNT, f"role/{r}") for r in roles}
    arns |= {naming.iam_arn(ACCOUNT, f"policy/{p}") for p in policies}
    return arns


def test_each_deployments_patterns_reach_its_own_names():
    # The property below means something only if the patterns do match the names of their own deployment.
    own = names("staging")
    reached = {n for n in own if any(resource_matches(p, n) for p in patterns("staging"))}
    assert own - reached == set()


@settings(max_examples=25, deadline=None)
@given(first=prefixes, second=prefixes)
@example(first="elastio", second="elastiostaging")
@example(first="elastiostaging", second="elastio")
@example(first="stg", second="stg2")
def test_no_pattern_of_one_deployment_matches_a_name_of_another(first, second):
    if first == second:
        return
    theirs = names(second)
    reached = sorted((p, n) for p in patterns(first) for n in theirs if resource_matches(p, n))
    assert reached == []
