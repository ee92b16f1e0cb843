"""One module per area; each exposes POLICIES, the rules registry.py collects."""
