"""Figure functions: each takes tidy data and returns a matplotlib Figure."""
