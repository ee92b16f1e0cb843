"""The account-level IAM documents: parliament-clean, scoped to this account and its regions, no wildcards
where they would hurt, trust only with the external ID."""

from __future__ import annotations

import fnmatch
import json

import pytest

from elastio_pulumi import iam_documents as docs
from elastio_pulumi import naming
from elastio_pulumi.constants import MANAGED_POLICY_NAMES, RESOURCE_TAG_KEY, SUPPORTED_REGIONS
from tests.parliament_known import KNOWN_FINDINGS, findings, parliament, raw_issues

ACCOUNT = "123456789012"
TENANT_ACCOUNT = "210987654321"
REGIONS = ("us-east-1", "eu-west-1")
UNCONFIGURED_REGION = "ap-south-1"
IAM = naming.IamNaming(prefix="Acme-", suffix="-prod")
SCOPE = docs.AccountScope(ACCOUNT, REGIONS, IAM)
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/Acme-ElastioPermissionsBoundary-prod"
EXTERNAL_ID = "ext-4f1c"

# Verbs that lose data or state; an Allow of these must never name Resource "*".
DESTRUCTIVE_VERBS = (
    "Delete",
    "Remove",
    "Terminate",
    "Cancel",
    "Stop",
    "Detach",
    "Revoke",
    "Purge",
    "Deregister",
    "Disable",
    "ScheduleKeyDeletion",
    "Untag",
)


def identity_documents(scope: docs.AccountScope = SCOPE) -> dict[str, dict]:
    return {
        "tenant": docs.tenant_access_policy(scope),
        "installer": docs.installer_policy(scope, BOUNDARY),
        "boundary": docs.default_permissions_boundary(scope),
        **docs.managed_policies(scope),
    }


def trust_documents() -> dict[str, dict]:
    tenant = docs.tenant_principal(TENANT_ACCOUNT, None)
    return {
        "tenant-trust": docs.tenant_trust_policy(tenant, EXTERNAL_ID),
        "installer-trust": docs.installer_trust_policy(
            tenant, EXTERNAL_ID, [f"arn:aws:iam::{ACCOUNT}:role/ci-deployer"]
        ),
    }


def statements(document: dict, effect: str | None = None) -> list[dict]:
    return [s for s in document["Statement"] if effect is None or s["Effect"] == effect]


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


IDENTITY = identity_documents()


# --- parliament -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(IDENTITY))
def test_identity_document_has_no_parliament_findings_beyond_the_known_ones(name):
    assert findings(name, IDENTITY[name]) == []


def test_parliament_check_reports_a_policy_naming_the_wrong_resource_type():
    wrong = docs.document(docs.statement("Wrong", ["sqs:SendMessage"], docs.table_arns(SCOPE, "jobs")))
    assert "RESOURCE_MISMATCH" in raw_issues(wrong)


ACCOUNT_FINDINGS = [known for known in KNOWN_FINDINGS if known.document in IDENTITY]


def test_every_known_parliament_finding_names_a_reason_and_the_rows_that_confirm_it():
    for known in KNOWN_FINDINGS:
        assert len(known.reason) > 40 and known.confirmed_by, known


def test_known_parliament_findings_still_occur_so_the_list_stays_current():
    for known in ACCOUNT_FINDINGS:
        assert known.issue in raw_issues(IDENTITY[known.document]), known


# --- condition keys the actions support ------------------------------------------------------------------


def _condition_keys(action: str) -> set[str]:
    """Condition keys parliament's data lists for an action, including those of its resource types."""
    service, name = action.split(":")
    definition = next(s for s in parliament.iam_definition if s["prefix"] == service)
    privilege = next(p for p in definition["privileges"] if p["privilege"] == name)
    resource_keys = {r["resource"]: r["condition_keys"] for r in definition["resources"]}
    keys: set[str] = set()
    for resource_type in privilege["resource_types"]:
        keys.update(resource_type["condition_keys"])
        keys.update(resource_keys.get(resource_type["resource_type"].rstrip("*"), []))
    return keys


# Which condition keys each action supports (tag keys included, action wildcards expanded):
# tests/test_iam_condition_keys.py, over these documents and the regional roles.


# --- trust -----------------------------------------------------------------------------------------


def test_tenant_principal_is_the_role_when_given():
    role = f"arn:aws:iam::{TENANT_ACCOUNT}:role/ElastioTenantAccess"
    assert docs.tenant_principal(TENANT_ACCOUNT, role) == role


def test_tenant_principal_is_the_account_root_without_a_role():
    assert docs.tenant_principal(TENANT_ACCOUNT, None) == f"arn:aws:iam::{TENANT_ACCOUNT}:root"


@pytest.mark.parametrize("name", sorted(trust_documents()))
def test_trust_policies_never_name_a_wildcard_principal(name):
    for stmt in statements(trust_documents()[name]):
        principals = stmt["Principal"]
        assert principals != "*"
        assert all("*" not in p for p in as_list(principals["AWS"]))


@pytest.mark.parametrize("name", sorted(trust_documents()))
def test_the_tenant_can_assume_only_with_the_external_id(name):
    tenant = docs.tenant_principal(TENANT_ACCOUNT, None)
    tenant_statements = [
        s for s in statements(trust_documents()[name]) if tenant in as_list(s["Principal"]["AWS"])
    ]
    assert tenant_statements
    for stmt in tenant_statements:
        assert stmt["Condition"]["StringEquals"]["sts:ExternalId"] == EXTERNAL_ID


def test_installer_trust_adds_the_configured_installer_principals():
    ci = f"arn:aws:iam::{ACCOUNT}:role/ci-deployer"
    trust = docs.installer_trust_policy(docs.tenant_principal(TENANT_ACCOUNT, None), EXTERNAL_ID, [ci])
    assert any(ci in as_list(s["Principal"]["AWS"]) for s in statements(trust))


def test_installer_trust_without_installer_principals_trusts_only_the_tenant():
    trust = docs.installer_trust_policy(docs.tenant_principal(TENANT_ACCOUNT, None), EXTERNAL_ID, [])
    assert len(statements(trust)) == 1


def test_trust_refuses_an_empty_external_id():
    with pytest.raises(ValueError, match="external_id"):
        docs.tenant_trust_policy(docs.tenant_principal(TENANT_ACCOUNT, None), "")


def test_trust_refuses_a_wildcard_installer_principal():
    with pytest.raises(ValueError, match="wildcard"):
        docs.installer_trust_policy(docs.tenant_principal(TENANT_ACCOUNT, None), EXTERNAL_ID, ["*"])


# --- wildcards -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(IDENTITY))
def test_no_statement_allows_every_action(name):
    for stmt in statements(IDENTITY[name], "Allow"):
        for action in as_list(stmt["Action"]):
            assert action != "*" and not action.endswith(":*"), (name, stmt["Sid"], action)


@pytest.mark.parametrize("name", sorted(IDENTITY))
def test_pass_role_names_elastio_roles_and_the_service_they_go_to(name):
    for stmt in statements(IDENTITY[name], "Allow"):
        if "iam:PassRole" in as_list(stmt["Action"]):
            assert "*" not in as_list(stmt["Resource"])
            assert all(":role/Acme-Elastio" in arn for arn in as_list(stmt["Resource"]))
            assert "iam:PassedToService" in stmt["Condition"]["StringEquals"]


def _names_no_resource_type(action: str) -> bool:
    """The service authorization reference lists no resource type for the action: "*" is its only form."""
    service, name = action.split(":")
    definition = next(s for s in parliament.iam_definition if s["prefix"] == service)
    privilege = next(p for p in definition["privileges"] if p["privilege"] == name)
    return all(not r["resource_type"] for r in privilege["resource_types"])


@pytest.mark.parametrize("name", sorted(IDENTITY))
def test_destructive_actions_are_never_allowed_on_every_resource(name):
    for stmt in statements(IDENTITY[name], "Allow"):
        if "*" not in as_list(stmt["Resource"]):
            continue
        for action in as_list(stmt["Action"]):
            verb = action.split(":")[1]
            if verb.startswith(DESTRUCTIVE_VERBS):
                assert _names_no_resource_type(action), (name, stmt["Sid"], action)


# --- scope -----------------------------------------------------------------------------------------


def _arns(document: dict, effect: str = "Allow") -> list[str]:
    return [arn for s in statements(document, effect) for arn in as_list(s["Resource"]) if arn != "*"]


# Images may come from another account's registry (a central one); the boundary lets the execution role pull.
ANY_ACCOUNT_REPOSITORIES = "arn:aws:ecr:*:*:repository/*"


@pytest.mark.parametrize("name", sorted(IDENTITY))
def test_resources_belong_to_this_account(name):
    for arn in _arns(IDENTITY[name]):
        _, _, service, region, account, _ = arn.split(":", 5)
        if arn == ANY_ACCOUNT_REPOSITORIES:
            assert name == "boundary", arn
            continue
        assert account in (ACCOUNT, ""), arn  # S3 buckets and EBS snapshots carry no account
        assert region in (docs.ANY_REGION, ""), arn  # names and the account scope regional ARNs; IAM has none
        if service == "s3":
            assert arn.split(":::")[1].split("/")[0].endswith(f"-{ACCOUNT}-*"), arn


def _via_services(document: dict) -> list[list[str]]:
    return [
        as_list(s["Condition"]["StringEquals"]["kms:ViaService"])
        for s in statements(document, "Allow")
        if "kms:ViaService" in s.get("Condition", {}).get("StringEquals", {})
    ]


@pytest.mark.parametrize("name", sorted(IDENTITY))
def test_key_use_through_a_service_names_exactly_the_configured_regions(name):
    for values in _via_services(IDENTITY[name]):
        assert {value.split(".")[1] for value in values} == set(REGIONS), (name, values)
    assert UNCONFIGURED_REGION not in json.dumps(IDENTITY[name])


def test_some_documents_restrict_key_use_by_region():
    assert any(_via_services(document) for document in IDENTITY.values())


def test_a_single_region_scope_names_only_that_region():
    single = identity_documents(docs.AccountScope(ACCOUNT, ("eu-west-1",), IAM))
    assert "us-east-1" not in json.dumps(single)


@pytest.mark.parametrize("name", sorted(IDENTITY))
def test_documents_survive_a_json_round_trip(name):
    assert json.loads(json.dumps(IDENTITY[name])) == IDENTITY[name]


def test_iam_prefix_and_suffix_flow_into_role_and_policy_arns():
    installer = json.dumps(IDENTITY["installer"])
    assert f"arn:aws:iam::{ACCOUNT}:role/Acme-Elastio*-prod" in installer
    assert f"arn:aws:iam::{ACCOUNT}:policy/Acme-Elastio*-prod" in installer
    assert "role/Acme-ElastioRouter-*-prod" in installer
    router_role = naming.function_role_name(IAM, "router", "eu-west-1")
    assert fnmatch.fnmatchcase(router_role, "Acme-ElastioRouter-*-prod")


def test_changing_the_prefix_changes_the_role_arns():
    other = docs.installer_policy(
        docs.AccountScope(ACCOUNT, REGIONS, naming.IamNaming("Other-", "")), BOUNDARY
    )
    assert "role/Other-Elastio*" in json.dumps(other)
    assert "Acme-" not in json.dumps(other).replace(BOUNDARY, "")


# --- tenant -----------------------------------------------------------------------------------------


def test_tenant_sends_only_to_the_command_queues():
    sending = [s for s in statements(IDENTITY["tenant"], "Allow") if "sqs:SendMessage" in s["Action"]]
    assert {arn for s in sending for arn in s["Resource"]} == set(docs.queue_arns(SCOPE, docs.COMMANDS_QUEUE))


def test_tenant_receives_only_from_the_tenant_events_queues():
    receiving = [s for s in statements(IDENTITY["tenant"], "Allow") if "sqs:ReceiveMessage" in s["Action"]]
    assert {arn for s in receiving for arn in s["Resource"]} == set(
        docs.queue_arns(SCOPE, docs.TENANT_EVENTS_QUEUE)
    )


def test_tenant_uses_kms_only_through_sqs_on_tagged_keys():
    kms = [
        s for s in statements(IDENTITY["tenant"], "Allow") if any(a.startswith("kms:") for a in s["Action"])
    ]
    for stmt in kms:
        condition = stmt["Condition"]["StringEquals"]
        assert condition["kms:ViaService"] == [f"sqs.{r}.amazonaws.com" for r in REGIONS]
        assert condition[f"aws:ResourceTag/{RESOURCE_TAG_KEY}"] == "true"


def test_tenant_reads_only_the_jobs_and_recovery_points_tables():
    tables = {
        arn.split("table/")[1].split("/")[0] for arn in _arns(IDENTITY["tenant"]) if ":dynamodb:" in arn
    }
    assert tables == {"elastio-jobs", "elastio-recovery-points"}


# --- installer -----------------------------------------------------------------------------------------


def _statement(document: dict, sid: str) -> dict:
    return next(s for s in statements(document) if s["Sid"] == sid)


def test_installer_creates_roles_only_with_the_boundary():
    for stmt in statements(IDENTITY["installer"], "Allow"):
        if "iam:CreateRole" in stmt["Action"] or "iam:PutRolePermissionsBoundary" in stmt["Action"]:
            assert stmt["Condition"] == {"ArnEquals": {"iam:PermissionsBoundary": BOUNDARY}}
    deny = _statement(IDENTITY["installer"], "DenyRolesWithoutBoundary")
    assert deny["Condition"] == {"ArnNotEquals": {"iam:PermissionsBoundary": BOUNDARY}}


def test_installer_cannot_change_or_remove_the_boundary():
    denied = _statement(IDENTITY["installer"], "DenyChangingElastioPolicies")
    assert BOUNDARY in denied["Resource"] and "iam:CreatePolicyVersion" in denied["Action"]
    assert (
        "iam:DeleteRolePermissionsBoundary"
        in _statement(IDENTITY["installer"], "DenyRemovingBoundaries")["Action"]
    )


def test_installer_cannot_delete_vault_buckets_or_objects_by_name():
    deny = _statement(IDENTITY["installer"], "DenyVaultData")
    assert {"s3:DeleteBucket", "s3:DeleteObject"} <= set(deny["Action"])
    assert "Condition" not in deny  # s3:DeleteBucket supports no aws:ResourceTag: the ARN scopes it
    assert set(docs.vault_bucket_arns(SCOPE)) <= set(deny["Resource"])


def test_installer_cannot_delete_elastio_tables():
    deny = _statement(IDENTITY["installer"], "DenyDeletingTables")
    assert "dynamodb:DeleteTable" in deny["Action"]
    assert set(deny["Resource"]) == set(docs.all_table_arns(SCOPE))


def test_installer_cannot_destroy_tagged_keys_or_untag_them():
    deny = _statement(IDENTITY["installer"], "DenyDestroyingTaggedKeys")
    assert {"kms:ScheduleKeyDeletion", "kms:DisableKey"} <= set(deny["Action"])
    assert deny["Condition"]["StringEquals"] == {f"aws:ResourceTag/{RESOURCE_TAG_KEY}": "true"}
    untag = _statement(IDENTITY["installer"], "DenyRemovingKeyMarkerTag")
    assert untag["Condition"]["ForAnyValue:StringEquals"] == {"aws:TagKeys": [RESOURCE_TAG_KEY]}


def test_installer_allows_no_data_deletion():
    allowed = {a for s in statements(IDENTITY["installer"], "Allow") for a in s["Action"]}
    assert not allowed & {
        "s3:DeleteBucket",
        "s3:DeleteObject",
        "dynamodb:DeleteTable",
        "kms:ScheduleKeyDeletion",
        "kms:DisableKey",
        "s3:PutLifecycleConfiguration",
    }


# --- boundary -----------------------------------------------------------------------------------------


def test_boundary_denies_every_iam_change():
    deny = _statement(IDENTITY["boundary"], "DenyIamChanges")
    assert deny["Resource"] == "*"
    assert {"iam:Create*", "iam:Put*", "iam:Attach*", "iam:Delete*"} <= set(deny["Action"])


def test_boundary_allows_no_table_bucket_or_key_destruction():
    allowed = {a for s in statements(IDENTITY["boundary"], "Allow") for a in s["Action"]}
    assert not allowed & {
        "s3:DeleteBucket",
        "dynamodb:DeleteTable",
        "kms:ScheduleKeyDeletion",
        "kms:DisableKey",
    }


# --- managed policies -------------------------------------------------------------------------------------


def test_managed_policies_each_grant_a_distinct_set_of_operations():
    grants = [
        frozenset((a, r) for s in statements(d, "Allow") for a in s["Action"] for r in as_list(s["Resource"]))
        for d in docs.managed_policies(SCOPE).values()
    ]
    assert len(set(grants)) == len(MANAGED_POLICY_NAMES)


def test_managed_policies_contain_no_deny_that_would_override_a_customers_own_grants():
    for name, document in docs.managed_policies(SCOPE).items():
        assert statements(document, "Deny") == [], name


def test_only_full_admin_reads_vault_reports():
    readers = [n for n, d in docs.managed_policies(SCOPE).items() if "/reports/*" in json.dumps(d)]
    assert readers == ["ElastioFullAdmin"]


def test_local_backup_reads_snapshot_blocks_only_of_tagged_snapshots():
    stmt = _statement(docs.managed_policies(SCOPE)["ElastioLocalBackup"], "ReadTaggedSnapshotBlocks")
    assert stmt["Condition"]["StringEquals"] == {f"aws:ResourceTag/{RESOURCE_TAG_KEY}": "true"}
    assert all(arn.endswith("::snapshot/*") for arn in stmt["Resource"])


@pytest.mark.parametrize("builder", ["installer", "boundary"])
def test_installer_and_boundary_cover_the_vault_task_log_groups(builder):
    boundary_arn = docs.policy_arn(SCOPE, naming.default_boundary_name(IAM))
    if builder == "installer":
        document = docs.installer_policy(SCOPE, boundary_arn)
    else:
        document = docs.default_permissions_boundary(SCOPE)
    allowed = [
        resource
        for statement in statements(document, "Allow")
        for resource in as_list(statement.get("Resource", []))
    ]
    assert f"arn:aws:logs:*:{ACCOUNT}:log-group:/elastio/vaults/*" in allowed


# --- IAM size quotas ---------------------------------------------------------------------------------------

LARGEST = docs.AccountScope(ACCOUNT, tuple(SUPPORTED_REGIONS), naming.IamNaming("P" * 20, "S" * 20))
LONG_BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/{'corporate/' * 10}{'B' * 100}"


def test_managed_policies_fit_iam_quota_for_the_largest_config():
    sizes = {name: docs.policy_size(doc) for name, doc in docs.managed_policies(LARGEST).items()}
    sizes["boundary"] = docs.policy_size(docs.default_permissions_boundary(LARGEST))
    sizes.update(
        {f"installer-{i}": docs.policy_size(p) for i, p in enumerate(docs.installer_policies(LARGEST, LONG_BOUNDARY))}
    )
    assert max(sizes.values()) <= docs.MANAGED_POLICY_MAX_CHARS, sizes


def test_tenant_inline_policy_fits_a_roles_inline_quota():
    assert docs.policy_size(docs.tenant_access_policy(LARGEST)) <= 10_240


def test_installer_parts_hold_every_statement_once_in_order():
    whole = docs.installer_policy(LARGEST, LONG_BOUNDARY)
    parts = docs.installer_policies(LARGEST, LONG_BOUNDARY)
    assert len(parts) > 1
    assert [s for part in parts for s in part["Statement"]] == whole["Statement"]


def test_split_document_starts_a_new_part_when_the_limit_would_be_passed():
    big = {"Sid": "A", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::" + "x" * 200}
    parts = docs.split_document(docs.document(big, {**big, "Sid": "B"}), limit=docs.policy_size(docs.document(big)))
    assert [[s["Sid"] for s in p["Statement"]] for p in parts] == [["A"], ["B"]]


def test_policy_size_ignores_white_space_as_iam_does():
    assert docs.policy_size({"a": "b c"}) == len('{"a":"bc"}')
