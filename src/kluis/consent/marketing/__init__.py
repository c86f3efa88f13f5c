"""Marketing (R-CONS-2, R-CONS-3): double opt-in, the opt-out routes, suppression, interest profiles, campaigns
and audiences."""
