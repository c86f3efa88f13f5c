"""benVitaal's own service databases, declared in the policy, that access, erasure and rectification reach (R-DSR-9)."""
