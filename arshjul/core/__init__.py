"""The kernel every layer uses: the settings, the app database, the clock and the run-time
context. It imports nothing of the application but `models/`."""
