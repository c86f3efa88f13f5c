"""Data subject requests: intake, verification, deadlines and the request lifecycle (R-DSR-1, -2, -8)."""
