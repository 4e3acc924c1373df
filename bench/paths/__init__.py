"""One module per measured path; each has NAME, ROWS and `run(ctx) -> list[dict]`."""
