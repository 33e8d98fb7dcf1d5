"""Benchmarks: speed, memory and growth."""
