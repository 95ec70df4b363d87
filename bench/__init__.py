"""Benchmark scripts (`python bench/<name>.py`). They print tables; they are never part of the test run."""
