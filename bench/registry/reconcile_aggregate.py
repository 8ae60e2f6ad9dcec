"""What the reconciliation's aggregate costs on PostgreSQL at 10 million fingerprint ids.

    source .ci/postgres.sh && .venv/bin/python bench/registry/reconcile_aggregate.py [--ids N]

Every few minutes each web process compares the table's ``Tally`` of ids with its own
(``service.Registry``). Fills a scratch one-column table with ``--ids`` ids (one in a thousand
missing, as after deletions), then times the count and sum alone (the baseline, what the check
used to read) and ``service.table_tally``'s query on the scratch table's ids (with the sum of
squares) on the same connection, alternating; prints medians and their ratio. The table is
dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from server.registry.service import table_tally

TABLE = "bench_reconcile_ids"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--database", default=os.environ.get("CREDITLINE_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    if not args.database:
        sys.exit("no database: pass --database or run `source .ci/postgres.sh` first")
    engine = sa.create_engine(args.database)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {TABLE}"))
        conn.execute(sa.text(f"CREATE TABLE {TABLE} (id integer PRIMARY KEY)"))
        conn.execute(
            sa.text(
                f"INSERT INTO {TABLE} SELECT g FROM generate_series(1, :n) g WHERE g % 1000 <> 7"
            ),
            {"n": args.ids},
        )
        conn.execute(sa.text(f"ANALYZE {TABLE}"))
    ids = sa.table(TABLE, sa.column("id", sa.Integer)).c.id
    queries = {
        "count and sum (baseline)": sa.select(
            sa.func.count(ids), sa.func.coalesce(sa.func.sum(ids), 0)
        ).where(ids <= args.ids),
        "with the sum of squares": table_tally(args.ids, ids),  # the service's own query
    }
    took: dict[str, list[float]] = {name: [] for name in queries}
    try:
        with engine.connect() as conn:
            for round_ in range(args.rounds + 2):  # two warm-up rounds
                for name, query in queries.items():
                    started = time.perf_counter()
                    conn.execute(query).one()
                    if round_ >= 2:
                        took[name].append(time.perf_counter() - started)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE {TABLE}"))
    base = statistics.median(took["count and sum (baseline)"])
    print(f"{args.ids:,} ids, median of {args.rounds}:")
    for name, times in took.items():
        median = statistics.median(times)
        print(
            f"  {name}: {median:.3f} s (min {min(times):.3f}, max {max(times):.3f})"
            f"  × {median / base:.2f}"
        )


if __name__ == "__main__":
    main()
