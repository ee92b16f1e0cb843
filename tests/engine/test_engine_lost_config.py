"""A vault whose configuration object is lost must not get a new one: every chunk id and manifest MAC depends on
the secret in it, so a fresh secret (or the unkeyed scheme of pre-configuration vaults) orphans every recovery
point and would accept unsigned manifests. Found by a cold review of the S3 index."""

import pytest
from test_engine_gc_safety import first_point, world  # noqa: F401  (the fixture)

from engine.vault import Vault
from engine.vaultconfig import CONFIG_KEY, VaultConfigError


def test_a_lost_vault_configuration_is_not_recreated_over_the_points_it_signed(world):  # noqa: F811
    first_point(world)  # a keyed vault: chunk ids and manifest MACs from its secret
    world.vault.bucket.delete(CONFIG_KEY)  # an operator's mistake, or someone who wants MACs off
    fresh = Vault(world.vault.name, world.vault.bucket, world.vault.index, world.vault.key)  # the next job

    with pytest.raises(VaultConfigError, match="previous version"):
        fresh.config  # noqa: B018  (the first job of a vault reads or creates it here)
    assert not world.vault.bucket.exists(CONFIG_KEY)  # nothing was recreated: restore its previous version


def test_a_lost_configuration_is_not_recreated_when_the_index_is_lost_too(world):  # noqa: F811
    """The index blobs may be lost (they are rebuilt from the packs: `rebuild-index`) and a young vault has no GC
    state yet; its manifests, signed with the secret, still say the vault was configured."""
    first_point(world)
    for info in list(world.vault.bucket.list("index/")):
        world.vault.bucket.delete(info.key)  # a lost index: designed to be survivable
    world.vault.bucket.delete(CONFIG_KEY)
    fresh = Vault(world.vault.name, world.vault.bucket, world.vault.index, world.vault.key)

    with pytest.raises(VaultConfigError, match="previous version"):
        fresh.config  # noqa: B018
    assert not world.vault.bucket.exists(CONFIG_KEY)
