"""The disclosure log: which recipient or processor received which categories of a person's data, when and
for which purpose (Art. 15(1)(c), Art. 19, R-DSR-3, R-SHR-1, R-SHR-2)."""
