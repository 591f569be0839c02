"""The subject profile: the read model of one subject across capabilities (its records in
publicity, list entries, objections, repairs and history), read through the owners' query
functions. It only reads."""
