"""Changes to the policy, carried out before and when they take effect (R-POL-3, R-GOV-4): the people a material
change affects are mailed ahead of its moment, consent is asked again where a changed purpose rests on it, and
records are dated again under a version whose retention terms changed. Versions themselves are policy data
(``kluis.policy.publish`` and ``kluis.policy.timeline``); this package is the work they cause."""
