"""Staff accounts for the console: roles, argon2id passwords, TOTP, sessions (SPEC §9, R-GATE-2)."""
