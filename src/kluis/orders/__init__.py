"""Authority orders (R-SHR-3): an informal request is refused and recorded; a written order is recorded with its
document, approved or rejected by a second DPO, and only then produces an export and the disclosure log entries."""
