"""Tags other parts act on: IAM conditions key on them, the functions and the engine set them."""

# Every taggable resource carries this tag; IAM conditions scope destructive actions to it, and the engine may
# read a snapshot through the EBS direct APIs only where it carries it (the Background jobs function adds it).
RESOURCE_TAG_KEY = "elastio:resource"
RESOURCE_TAG_VALUE = "true"
# Every resource a deployment owns carries its deployment's name prefix (elastio:namePrefix) under this tag:
# what the program creates, and what the functions (Batch jobs) and the engine (restored snapshots and volumes)
# create at run time. Every IAM grant scoped by RESOURCE_TAG_KEY on a deployment's own resources also requires
# this tag's value, so two deployments in one account (RESOURCE_TAG_KEY alike on both) do not reach each other's
# keys, security groups, jobs, snapshots and volumes. The value is read from environment.DEPLOYMENT.
DEPLOYMENT_TAG_KEY = "elastio:deployment"
# Every Batch job the connector submits carries the vault it runs for under this tag; job ARNs name no queue,
# so IAM scopes batch:TerminateJob to jobs with this tag (and the deployment's DEPLOYMENT_TAG_KEY).
JOB_VAULT_TAG_KEY = "elastio:vault"


def deployment_tag(deployment: str | None) -> dict[str, str]:
    """The deployment tag to put on what the code creates, as a tag map: none where the deployment is unknown
    (an engine image newer than its job definition, which does not set the variable yet: only the default
    deployment's grants accept a request without the tag, and that deployment is the only one such a job
    definition can belong to)."""
    return {DEPLOYMENT_TAG_KEY: deployment} if deployment else {}
