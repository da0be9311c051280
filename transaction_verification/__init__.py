"""transaction_verification: checks the cart, the buyer's data and the card's format (events a, b, c)."""
