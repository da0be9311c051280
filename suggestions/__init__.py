"""suggestions: books to suggest after an approved checkout, from the catalog (event f)."""
