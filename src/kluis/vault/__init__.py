"""People, their identifiers and their records: encrypted, found by blind index, shreddable."""
