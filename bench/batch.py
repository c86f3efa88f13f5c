"""One batch of the load scenario `batch` in process (issue 18 §6): what POST /api/v1/records/batch does for 100
records for 100 people who already have records, without HTTP, on PostgreSQL.

    PYTHONPATH=src python bench/batch.py --rounds 60

Each round parses the body (as the endpoint does: JSON, then the request model), asks the gate, adds the records
(Vault.add_records: people taken in id order, keys, retention, COPY, bounds, audit event) and commits. Prints the
wall time and this process's CPU time per batch, by step, and the statements SQLAlchemy ran per batch (the gate's
facts and the records' COPY go through the driver's own cursor and are not counted: one each). Run it with
another tree's `src` first on PYTHONPATH to compare two versions in the same conditions. Once the data is in, the
process settles its heap as each server process does once it is built (kluis.kit.heap).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import add_database_url, fresh_kluis, load_average  # noqa: E402
from load import analyze, populate  # noqa: E402

from kluis.access.service import Caller  # noqa: E402
from kluis.kit import heap  # noqa: E402
from kluis.kit.statements import statements_run  # noqa: E402
from kluis.vault.api import _record_questions  # noqa: E402
from kluis.vault.schemas import RecordBatchIn, RecordsCreated  # noqa: E402

SIZE = 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_database_url(parser)
    parser.add_argument("--rounds", type=int, default=60, help="batches timed after 5 (default %(default)s)")
    parser.add_argument("--people", type=int, default=2000, help="people, three records each (default %(default)s)")
    args = parser.parse_args()
    with fresh_kluis("postgresql", args.database_url) as kluis:
        ids, _, _ = populate(kluis, args.people)
        analyze(kluis)  # the statistics autovacuum gathers after a load
        bodies = [
            json.dumps(
                {
                    "items": [
                        {
                            "person_id": ids[(n * SIZE + i) % len(ids)],
                            "category": "basic",
                            "purposes": ["accounts"],
                            "legal_basis": "contract",
                            "source": "direct",
                            "content": {"n": i, "text": f"waarde {n}"},
                        }
                        for i in range(SIZE)
                    ]
                }
            ).encode()
            for n in range(args.rounds + 5)
        ]
        caller = Caller(key_id="bench", service="bench", purposes=("accounts",))
        heap.settle()  # as each server process does once it is built
        cpu: dict[str, float] = {}

        def step(name: str, since: float) -> float:
            now = time.process_time()
            cpu[name] = cpu.get(name, 0.0) + now - since
            return now

        def one(body: bytes) -> None:
            at = time.process_time()
            batch = RecordBatchIn.model_validate(json.loads(body))
            at = step("body", at)
            questions = _record_questions("accounts", [(item.person_id, item) for item in batch.items], single=False)
            with kluis.db.transaction() as session:
                assert not kluis.gate(session, caller.actor).refusals(questions)
                at = step("gate", at)
                added = kluis.vault(session, caller.actor).add_records(None, batch.items)
                at = step("add_records", at)
            at = step("commit", at)
            RecordsCreated(ids=added).model_dump_json()
            step("answer", at)

        for body in bodies[:5]:
            one(body)
        cpu.clear()
        started = time.perf_counter()
        with statements_run(kluis.db.engine, each_parameter_set=True) as statements:  # psycopg: one per set
            for body in bodies[5:]:
                one(body)
        wall = (time.perf_counter() - started) / args.rounds * 1000
        rounds = args.rounds
        print(
            f"{rounds} batches of {SIZE} records for {SIZE} people: wall {wall:.1f} ms, CPU "
            f"{sum(cpu.values()) / rounds * 1000:.1f} ms ("
            + ", ".join(f"{name} {value / rounds * 1000:.1f}" for name, value in cpu.items())
            + f"), {len(statements) / rounds:.0f} statements per batch; {load_average()}"
        )


if __name__ == "__main__":
    main()
