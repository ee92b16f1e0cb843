"""IAM policy descriptions are frozen: changing one replaces a policy that customers have attached.

The pinned strings below are the descriptions deployed before they were frozen (issue 12, item 7). A test that
fails here means a change would replace a live IAM policy: restore the old wording, do not update the pin.
"""

from __future__ import annotations

from elastio_pulumi import iam_documents
from plan import build_plan
from tests.replacement import replacements

PINNED = {
    "elastio-account-boundary": "Caps what Elastio connector and vault roles can ever do (permissions boundary).",
    "elastio-account-elastio-agentless-backup-and-restore": (
        "starting backups of EC2 instances and EBS volumes and restores (backup.start, restore.start), with read "
        "access to inventory, recovery points and job progress."
    ),
    "elastio-account-elastio-backup-admin": (
        "running backups and managing them: expiring recovery points, reading every Elastio table, and inspecting "
        "and redriving commands that failed (the command and failed-invocation dead-letter queues)."
    ),
    "elastio-account-elastio-full-admin": (
        "administering everything Elastio: all commands (including vault server start and stop), every table, "
        "dead-letter queues, function logs, Batch jobs and ECS tasks, and the vaults' integrity reports; still no "
        "data deletion."
    ),
    "elastio-account-elastio-jobs-admin": (
        "following and cancelling jobs (job.status, job.cancel) and reading the jobs table and Batch job details."
    ),
    "elastio-account-elastio-local-backup": (
        "backing up to a vault from this account: snapshotting volumes (tagged for Elastio), reading those "
        "snapshots through the EBS direct APIs, and sending backup.start."
    ),
    "elastio-account-elastio-mount-and-restore": (
        "restoring and mounting recovery points: writing restored snapshots through the EBS direct APIs, creating "
        "volumes from them and attaching them, all on resources tagged elastio:resource."
    ),
    "elastio-account-installer-access-1": "ElastioInstaller permissions, part 1 of 3.",
    "elastio-account-installer-access-2": "ElastioInstaller permissions, part 2 of 3.",
    "elastio-account-installer-access-3": "ElastioInstaller permissions, part 3 of 3.",
}


def _policies(plan) -> dict[str, dict]:
    return {r.name: r for r in plan.resources if r.type == "aws:iam/policy:Policy"}


def test_every_iam_policy_keeps_the_description_it_was_deployed_with(example_plan):
    policies = _policies(example_plan)
    # The installer's parts name their count ("part i of N"), which grows with the documents (issue 16's deployment
    # tag made a fourth): their description is an ignored change (the next test), so a deployed part keeps its text
    # and is never replaced. Every other description is pinned.
    described = {
        name: r.inputs.get("description") for name, r in policies.items() if "description" not in r.ignore_changes
    }
    installer_parts = {name for name in PINNED if name.startswith("elastio-account-installer-access-")}
    assert described == {name: text for name, text in PINNED.items() if name not in installer_parts}
    assert installer_parts <= set(policies)


def test_a_change_in_the_number_of_installer_parts_replaces_none_of_the_existing_parts(example_plan, monkeypatch):
    # The IAM documents grow (more denies, more regions): the installer's permissions then need one more part.
    # The existing parts' "part i of N" text changes; IAM would replace each of them (detaching them from the
    # installer mid-update) unless the change is ignored.
    split = iam_documents.installer_policies

    def one_more_part(scope, boundary_arn):
        parts = split(scope, boundary_arn)
        return [*parts, iam_documents.document(parts[-1]["Statement"][-1])]

    monkeypatch.setattr(iam_documents, "installer_policies", one_more_part)
    grown = build_plan("example")

    assert len(_policies(grown)) == len(_policies(example_plan)) + 1
    assert replacements(example_plan, grown) == []


def test_the_replacement_check_sees_a_reworded_managed_policy(example_plan, monkeypatch):
    from elastio_pulumi.iam_documents import descriptions

    reworded = dict(descriptions.MANAGED_POLICY_DESCRIPTIONS, ElastioJobsAdmin="Follow and cancel jobs.")
    monkeypatch.setattr(descriptions, "MANAGED_POLICY_DESCRIPTIONS", reworded)
    changed = build_plan("example")

    assert [(urn.rsplit("::", 1)[1], key) for urn, key, _, _ in replacements(example_plan, changed)] == [
        ("elastio-account-elastio-jobs-admin", "description")
    ]
