"""Prefect tasks: the units of I/O work (persist, notify, publish)."""
