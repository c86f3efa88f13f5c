"""Access and portability packages (R-DSR-3, R-DSR-4): built by the worker as jobs into an encrypted store,
with a readable report inside, downloaded after a fresh e-mail code."""
