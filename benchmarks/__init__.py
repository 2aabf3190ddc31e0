"""Timings against MMDetection's components: ``python -m
benchmarks.<name>`` from the repository root."""
