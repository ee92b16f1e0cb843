"""Helpers shared by the tests: stack configs and facts about pulumi-aws resource types."""

from __future__ import annotations

import copy
import functools
import importlib
import inspect
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent


def example_stack_values() -> dict[str, Any]:
    """The `config:` mapping of Pulumi.example.yaml, as a fresh copy a test may change."""
    return copy.deepcopy(yaml.safe_load((ROOT / "Pulumi.example.yaml").read_text())["config"])


@functools.cache
def is_taggable(type_token: str) -> bool:
    """True when the pulumi-aws class for `type_token` accepts a `tags` argument."""
    if not type_token.startswith("aws:") or type_token.startswith("pulumi:"):
        return False
    module_path, class_name = type_token.split(":")[1], type_token.split(":")[2]
    module_name = module_path.split("/")[0].replace("lambda", "lambda_")
    module = importlib.import_module(f"pulumi_aws.{module_name}")
    cls = getattr(module, class_name)
    return "tags" in inspect.signature(cls._internal_init).parameters
