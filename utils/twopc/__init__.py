"""Two-phase commit pieces shared by the participants (payment_service, books_database)."""
