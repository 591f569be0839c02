"""C5 Objections (异议): a subject challenges a record; the source department decides."""
