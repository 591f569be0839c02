"""Each console role's home: its to-do counts with links, read from the owning capabilities."""
