"""The cost of reading decisions from a replica (docs/gate.md#decisions-from-a-replica): objections written one
per transaction (as the API writes them) by a Kluis without a read replica and by one with KLUIS_READ_DATABASE_URL,
whose decision-changing writes commit with ``synchronous_commit = remote_apply``.

    python bench/replica.py --objections 2000

Without --database-url it starts its own primary and a synchronous hot standby of it on this machine
(tests/replication.py; initdb and pg_basebackup needed). With --database-url (the primary) give
--read-database-url (a synchronous standby of it). Three modes take turns, objection by objection, on the same
server: commits that wait for no standby (as on a primary that names none: synchronous_commit = local), Kluis
without a read replica (the server's default, on: the standby's flush), Kluis with one (remote_apply: its replay).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from common import add_database_url, load_average  # noqa: E402
from tests.replication import missing, primary_and_replica  # noqa: E402

from kluis import schema  # noqa: E402
from kluis.config import Settings  # noqa: E402
from kluis.kit.secrets import new_secret  # noqa: E402
from kluis.vault.schemas import PersonIn  # noqa: E402
from kluis.wiring import Kluis, build  # noqa: E402

KEYS = {
    "master_key": new_secret(),
    "index_key": new_secret(),
    "secret_key": new_secret(),
    "certificate_key": new_secret(),
    "audit_key": new_secret(),
}
LOCAL, STANDBY, REMOTE_APPLY = (
    "no replica waited for (synchronous_commit = local)",
    "no read replica (synchronous_commit = on: remote flush)",
    "read replica configured (remote_apply)",
)


def people(kluis: Kluis, count: int) -> list:
    ids = []
    for start in range(0, count, 1000):
        with kluis.db.transaction() as session:
            ids += [
                p.id
                for p in kluis.vault(session, "bench").create_people(
                    [PersonIn(subject_types=["lead"]) for _ in range(min(1000, count - start))]
                )
            ]
    return ids


def objection(kluis: Kluis, pid: object, local: bool) -> float:
    """Milliseconds to record one objection in its own transaction, as the API does. ``local``: the commit waits
    for no standby, as on a primary that names none."""
    t0 = time.perf_counter()
    with kluis.db.transaction() as session:
        if local:
            session.connection().exec_driver_sql("SET LOCAL synchronous_commit = local")
        kluis.gate(session, "bench").object(pid, "profiling", "person")  # type: ignore[arg-type]
    return (time.perf_counter() - t0) * 1000


def measure(primary: str, replica: str, count: int) -> dict[str, list[float]]:
    """Per mode, the time of each of ``count`` objections; the modes take turns objection by objection, so the
    load of the machine at any moment falls on all three alike."""
    plain = build(Settings(_env_file=None, database_url=primary, **KEYS))
    schema.upgrade(plain.db)
    replicated = build(Settings(_env_file=None, database_url=primary, read_database_url=replica, **KEYS))
    modes = [LOCAL, STANDBY, REMOTE_APPLY]
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    try:
        for i, pid in enumerate(people(plain, count * len(modes))):
            mode = modes[i % len(modes)]
            times[mode].append(objection(replicated if mode == REMOTE_APPLY else plain, pid, mode == LOCAL))
    finally:
        plain.close()
        replicated.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_database_url(parser)
    parser.set_defaults(database_url=None)
    parser.add_argument(
        "--read-database-url", default=None, help="a synchronous standby of --database-url (needed with it)"
    )
    parser.add_argument("--objections", type=int, default=2000, help="objections per mode (default 2000)")
    parser.add_argument(
        "--fsync",
        action="store_true",
        help="the started pair flushes commits to disk (off by default: where a flush takes tens of "
        "milliseconds it drowns what is measured, the wait for the standby's replay)",
    )
    args = parser.parse_args()
    if (args.database_url is None) != (args.read_database_url is None):
        parser.error("give --database-url and --read-database-url together, or neither (a pair is started)")
    if args.database_url is None:
        reason = missing()
        if reason is not None:
            sys.exit(f"cannot start a primary and a replica: {reason}")
        with primary_and_replica(durable=args.fsync) as pair:
            times = measure(pair.primary_url, pair.replica_url, args.objections)
    else:
        times = measure(args.database_url, args.read_database_url, args.objections)
    flushed = "" if args.database_url else f", fsync {'on' if args.fsync else 'off'}"
    print(
        f"{args.objections} objections per mode, one per transaction, on {args.objections * len(times)} people "
        f"(an otherwise empty database{flushed}), the modes in turn; {load_average()}; ms per objection:"
    )
    medians = {mode: statistics.median(values) for mode, values in times.items()}
    for mode, values in times.items():
        print(f"  {mode:<56} median {medians[mode]:6.2f}  p90 {statistics.quantiles(values, n=10)[-1]:6.2f}")
    print(
        f"remote_apply / local: {medians[REMOTE_APPLY] / medians[LOCAL]:.2f}x, "
        f"remote_apply / remote flush: {medians[REMOTE_APPLY] / medians[STANDBY]:.2f}x "
        f"(+{medians[REMOTE_APPLY] - medians[LOCAL]:.2f} ms per objection over local)"
    )


if __name__ == "__main__":
    main()
