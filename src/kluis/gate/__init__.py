"""May person P be processed for purpose X, and why (R-GATE-1, R-DSR-7)."""
