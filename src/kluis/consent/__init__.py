"""Consent, marketing and cookies (R-CONS-1..5)."""
