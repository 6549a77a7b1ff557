"""Monitoring: feature profiles, drift against a reference export, the drift report and gate,
drift history and the lineage from a model back to its data.

The statistics are SQL (the `feature_drift` and `feature_profile` macros and the `mon_*`
models); this package resolves what to compare, runs dbt, and renders.
"""
