"""Exchange with the upper-level platform (C14). For now: the outbox of events to push."""
