"""Engine layer: load, run, persist and time SpiffWorkflow processes.

Nothing here imports Flask, so tests, benchmarks and the scheduler can drive
processes directly.
"""
