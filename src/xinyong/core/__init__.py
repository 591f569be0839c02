"""The shared kernel: settings, database, audit log, value types. Imports nothing of ours."""
