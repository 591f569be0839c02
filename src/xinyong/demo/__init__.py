"""The demo city: synthetic but realistic 双公示 submissions for demonstrations, tests and
benchmarks, written as the files departments really send and loaded through the real ingest."""
