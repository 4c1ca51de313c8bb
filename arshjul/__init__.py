"""arshjul: the application shell (settings, database, CLI, service runner)."""
