"""Who may touch personal data: service API keys bound to purposes (R-GATE-2)."""
