"""Small shared helpers with no domain knowledge: clock, ids, errors."""
