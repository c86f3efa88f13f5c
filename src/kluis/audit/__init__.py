"""The tamper-evident record of every privacy operation (R-GOV-1)."""
