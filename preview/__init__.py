"""`python -m preview`: the offline plan, policy verdicts and cost of a stack."""

import plan  # noqa: F401 - first: it puts the library (src/) on the path
