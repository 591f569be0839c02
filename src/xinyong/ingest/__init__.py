"""C3 Ingest (归集): departments' files in, validated records and returned rows out."""
