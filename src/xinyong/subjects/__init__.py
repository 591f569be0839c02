"""C2 Subjects: credit subjects, their codes and names, and the records held about them."""
