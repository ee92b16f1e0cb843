"""Elastio ScaleZ in your AWS account: the stack config of Pulumi.<stack>.yaml -> elastio_pulumi.deployment.build."""

import sys
from pathlib import Path

import pulumi

# The library lives in src/ (distribution elastio-pulumi). `pulumi up` installs the hash-locked requirements.txt,
# in which pip refuses an unhashed `.`, so the program imports the library from this checkout.
sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from elastio_pulumi.deployment import build  # noqa: E402
from elastio_pulumi.stack_config import ConfigError, from_pulumi  # noqa: E402

try:
    config, external_id = from_pulumi()
except ConfigError as err:
    # RunError ends the program with this message and no Python traceback.
    raise pulumi.RunError(
        f"invalid stack configuration (fix these keys in Pulumi.{pulumi.get_stack()}.yaml):\n{err}"
    ) from None

build(config, external_id)
