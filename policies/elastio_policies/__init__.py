"""Elastio's CrossGuard rules, importable without starting a policy server.

The real pack (`policies/__main__.py`) and the offline check (`elastio_policies.offline`) both import the
rules from here, so one rule function judges a real `pulumi preview` and the offline graph alike.
"""

from .registry import ALL_POLICIES, PACK_NAME

__all__ = ["ALL_POLICIES", "PACK_NAME"]
