"""Descriptions of the IAM managed policies, frozen at the values already deployed.

An IAM managed policy's description cannot be changed after it is created: IAM has no API to update it, so the
provider replaces the policy when it changes (pulumi-aws `aws.iam.Policy` / terraform-provider-aws
`aws_iam_policy`: "description - (Optional, Forces new resource)"). A replacement detaches the policy from every
user, group and role a customer attached it to. So each description is a literal string here, never derived from
docstrings, wording helpers or config, and tests/test_policy_descriptions.py pins every one of them. Rewording one
is a breaking change for customers, not an edit.
"""

from __future__ import annotations

BOUNDARY_DESCRIPTION = "Caps what Elastio connector and vault roles can ever do (permissions boundary)."

MANAGED_POLICY_DESCRIPTIONS: dict[str, str] = {
    "ElastioAgentlessBackupAndRestore": (
        "starting backups of EC2 instances and EBS volumes and restores (backup.start, restore.start), with read "
        "access to inventory, recovery points and job progress."
    ),
    "ElastioBackupAdmin": (
        "running backups and managing them: expiring recovery points, reading every Elastio table, and inspecting "
        "and redriving commands that failed (the command and failed-invocation dead-letter queues)."
    ),
    "ElastioFullAdmin": (
        "administering everything Elastio: all commands (including vault server start and stop), every table, "
        "dead-letter queues, function logs, Batch jobs and ECS tasks, and the vaults' integrity reports; still no "
        "data deletion."
    ),
    "ElastioJobsAdmin": (
        "following and cancelling jobs (job.status, job.cancel) and reading the jobs table and Batch job details."
    ),
    "ElastioLocalBackup": (
        "backing up to a vault from this account: snapshotting volumes (tagged for Elastio), reading those "
        "snapshots through the EBS direct APIs, and sending backup.start."
    ),
    "ElastioMountAndRestore": (
        "restoring and mounting recovery points: writing restored snapshots through the EBS direct APIs, creating "
        "volumes from them and attaching them, all on resources tagged elastio:resource."
    ),
}

# The installer's access policies are numbered parts whose count follows from the config. Their descriptions name
# the count they were created with, and the component ignores later changes of it (`ignore_changes`), so a change
# in the number of parts adds or removes the last parts and never replaces the existing ones.
INSTALLER_POLICY_IGNORED_CHANGES = ["description"]


def installer_policy_description(part: int, part_count: int) -> str:
    return f"ElastioInstaller permissions, part {part} of {part_count}."
