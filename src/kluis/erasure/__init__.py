"""Erasure (R-DSR-6, R-VLT-5, R-RET-3): a resumable job per person, and its signed certificate."""
