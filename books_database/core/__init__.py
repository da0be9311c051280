"""books_database/core."""
