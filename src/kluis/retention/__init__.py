"""Retention: when each record is due, legal holds, and the sweep that erases what is due (R-RET-1..3)."""
