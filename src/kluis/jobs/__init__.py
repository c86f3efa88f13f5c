"""Background jobs: one lease (claim, renew, release, take-over once it lapses) and one backoff for every kind of
job, each kind a small handler over it. Mechanism only: nothing here knows a domain.

- ``rules``: when a lease has lapsed; the backoff between attempts (pure);
- ``lease``: a kind's table as the lease sees it (``JobKind``), and the claim and its moves on one job;
- ``poll``: one poll of a kind: claim, commit, hand each job to the kind's handler.
"""

from kluis.jobs.lease import (
    Claim,
    JobKind,
    claim,
    held,
    holds,
    live,
    new_owner,
    release,
    renew,
    renew_held,
    retry,
    take,
    unclaimed,
    used_up,
)
from kluis.jobs.poll import Handler, Polled, poll
from kluis.jobs.rules import Backoff, lapsed

__all__ = ["Backoff", "Claim", "Handler", "JobKind", "Polled", "claim", "held", "holds", "lapsed", "live",
           "new_owner", "poll", "release", "renew", "renew_held", "retry", "take", "unclaimed", "used_up"]
