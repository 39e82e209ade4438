"""Benchmarks for sohoa and the synthetic corpus they (and the tests and demo) run on."""
