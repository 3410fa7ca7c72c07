"""A load generator of our own: concurrent citizens playing multi-turn conversations (`scripts/bench_load.py`)."""
