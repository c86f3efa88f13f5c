"""The processors register acted on (R-SHR-2): agreements ending soon, the DPOs reminded before they end, and the
sub-processors of a service mailed to whoever asks."""
