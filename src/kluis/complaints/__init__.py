"""Complaints about the handling of personal data (R-GOV-2): intake, confidential handling, answer."""
