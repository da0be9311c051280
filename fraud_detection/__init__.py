"""fraud_detection: named fraud rules, card velocity and an optional assessor (events d, e)."""
