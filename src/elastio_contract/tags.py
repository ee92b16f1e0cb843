"""Tags other parts act on: IAM conditions key on them, the functions and the engine set them."""

# Every taggable resource carries this tag; IAM conditions scope destructive actions to it, and the engine may
# read a snapshot through the EBS direct APIs only where it carries it (the Background jobs function adds it).
RESOURCE_TAG_KEY = "elastio:resource"
RESOURCE_TAG_VALUE = "true"
# Every Batch job the connector submits carries the vault it runs for under this tag; job ARNs name no queue,
# so IAM scopes batch:TerminateJob to jobs with this tag.
JOB_VAULT_TAG_KEY = "elastio:vault"
