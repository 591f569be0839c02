"""C4 Publicity: publicity windows (公示期) of credit records — when each is shown, and why."""
