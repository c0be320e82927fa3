"""Peers of bench/compare.py: each module builds a `step_runner(workload, data)` or says why it
cannot (the peer is not installed)."""
