"""The facts the deployed parts share, each stated once: the connector's tables and indexes, the environment
variable names the components set and the functions and engine read, the command and event types, the Batch
job parameters, the vaults-table record, the vault secret's KMS encryption context and the tags IAM
conditions key on.

Standard library only: it is imported by the Pulumi components (elastio_pulumi), by the Lambda functions (the
code zip holds it next to `lambdas/`) and by the vault engine (engine/Dockerfile copies it into the image),
none of which may need the others' dependencies. docs/CONTRACT.md describes the same seams in prose.
"""

from elastio_contract import environment, jobs, kms, messages, tables, tags
from elastio_contract.vault_record import VaultRecord, VaultRecordError

__all__ = ["VaultRecord", "VaultRecordError", "environment", "jobs", "kms", "messages", "tables", "tags"]
