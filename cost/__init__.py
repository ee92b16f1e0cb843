"""Cost estimator: the idle floor of the planned graph, the usage cost of a workload, and the savings
against EBS snapshots and AWS Backup. Takes graph records; never imports `plan` (only the CLI does).
The usage inputs' names and bounds are the stack file's (elastio_pulumi.usage; cost/_src.py finds it in a checkout)."""

from cost import _src  # noqa: F401  (first: puts src/ on the path)
from cost.assumptions import Assumptions
from cost.errors import CostInputError
from cost.estimate import Estimate, estimate, summary
from cost.prices import PriceTable, default_table
from cost.profiles import DEFAULT_PROFILE, PROFILES, DataProfile, get_profile
from cost.report import format_summary, render_breakdown
from cost.workload import Workload, config_key

__all__ = [
    "Assumptions",
    "CostInputError",
    "DEFAULT_PROFILE",
    "DataProfile",
    "Estimate",
    "PROFILES",
    "PriceTable",
    "Workload",
    "config_key",
    "default_table",
    "estimate",
    "format_summary",
    "get_profile",
    "render_breakdown",
    "summary",
]
