"""Benchmarks that print their figures. Each runs from the repository root as
``python -m bench.<name>`` (README, "Benchmarks"); ``bench`` itself is not installed."""
