"""Spot-checks (监督抽查) under the double-random, one-public regime: registries, plans, the draw anyone can re-run, public nominations, tasks, review and publication."""
