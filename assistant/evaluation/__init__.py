"""Regression evals: fixed Q&A cases scored for groundedness, compared with a baseline.

``assistant eval`` (see cli.py) loads and validates a dataset (dataset.py), asks every
case through the engine's public API (runner.py), scores it (metrics.py, judges.py),
compares the aggregates and per-case results with a baseline (baseline.py) and writes
a report (report.py). Metric definitions live in evals/README.md.
"""
