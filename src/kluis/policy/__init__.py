"""The privacy statement as data (R-POL-1..3): load and validate ``policy/benvitaal.yaml``, render the
public statement from it, and keep its versions. Pure except ``models``, ``service``, ``views`` and
``commands``; see docs/policy.md."""
