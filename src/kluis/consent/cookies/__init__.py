"""Cookie consent for benVitaal's sites (R-CONS-4): banner, script gating, receipts, Global Privacy Control."""
