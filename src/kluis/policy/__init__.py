"""The privacy statement as data (R-POL-1..3, R-GOV-4): load and validate ``policy/benvitaal.yaml``, render the
public statement from it, keep its versions, publish one for its moment and tell the people a material change
affects. Pure: ``schemas``, ``rules``, ``loader``, ``render``, ``records``, ``diff``; the rest reads or writes the
database or the web; see docs/policy.md."""
