"""Resources that outlive the stack, and how a redeploy after `pulumi destroy` adopts them again.

Backups and everything that guards them (bucket policy, public access block, encryption default, versioning,
lifecycle, ownership controls, object-lock configuration, key aliases) are `retain_on_delete`: destroy forgets
them, it does not delete or weaken them. Their names are fixed, so a later `pulumi up` into the same account
and region would fail on them (BucketAlreadyOwnedByYou, ResourceInUseException, AlreadyExistsException).
With `options.adoptRetained: true` each of them is imported instead (Pulumi's `import_` resource option): by
its name, or for a KMS key, whose id is random, by the id its alias `alias/<prefix>-...` points to (the names
derive from the deployment's elastio:namePrefix, so a redeploy adopts only what its own deployment kept).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_aws as aws
from pulumi import ResourceOptions

ImportId = str | Callable[[], str] | None

# Pulumi refuses an import whose planned inputs differ from what it reads back. Two inputs of a kept KMS key
# differ after `pulumi destroy` through no change of ours: KMS does not report the deletion window (it only
# applies once a deletion is scheduled, which a retained key never gets), and the key policy names the vault's
# task role, which destroy deleted, so IAM shows that principal as a unique id (AROA...) until the role is back.
# The adopting run leaves both as they are; the next run (without adoptRetained) writes the policy again.
KEY_INPUTS_STALE_AFTER_DESTROY: tuple[str, ...] = ("deletionWindowInDays", "policy")


def keep(
    parent: pulumi.Resource,
    adopt: bool,
    import_id: ImportId,
    stale_after_destroy: tuple[str, ...] = (),
    **options: Any,
) -> ResourceOptions:
    """Options of a resource kept after destroy; when adopting, imported by `import_id` (a callable is only
    called then: looking a key up by its alias is an AWS call), leaving `stale_after_destroy` inputs as found."""
    if adopt and import_id is None:
        raise ValueError("a retained resource needs an import id to be adopted")
    adopted = (import_id() if callable(import_id) else import_id) if adopt else None
    if adopt and stale_after_destroy:
        options["ignore_changes"] = [*options.get("ignore_changes", []), *stale_after_destroy]
    return ResourceOptions(parent=parent, retain_on_delete=True, import_=adopted, **options)


def known(account_id: Any) -> str:
    """The account id as a plain string: import ids are names, needed before any Output resolves."""
    if not isinstance(account_id, str):
        raise TypeError("options.adoptRetained needs the account id as a plain string (see __main__.py)")
    return account_id


def key_id_by_alias(parent: pulumi.Resource, alias_name: str) -> str:
    """The id of the key `alias_name` points to (a synchronous lookup, with the parent's provider)."""
    try:
        return aws.kms.get_alias(name=alias_name, opts=pulumi.InvokeOptions(parent=parent)).target_key_id
    except Exception as err:  # the provider's NotFound: nothing was kept here, or the key predates aliases
        # A RunError is reported as this one line, without the program's traceback.
        reason = " ".join(str(err).split())  # provider errors may span lines; this stays one
        raise pulumi.RunError(
            f"elastio:options.adoptRetained: no KMS alias {alias_name} to adopt a kept key by ({reason}); for a first "
            "deploy set adoptRetained false, or for a key kept by a version without aliases run `aws kms "
            f"create-alias --alias-name {alias_name} --target-key-id <id>` in that region first (README.md, "
            "'pulumi destroy, and deploying again')"
        ) from None
