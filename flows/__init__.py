"""Prefect flows, one per file: run a step, the daily sweep, follow-up, simulate a year."""
