"""Bulk-import vendors from a CSV file through Procore's ``vendors/sync`` endpoint.

    python examples/bulk_import.py               # a generated CSV, into an in-process FakeProcore
    python examples/bulk_import.py vendors.csv   # your file (columns: origin_id, name, ...)

With PROCORE_CLIENT_ID, PROCORE_CLIENT_SECRET and PROCORE_COMPANY_ID set it imports into
real Procore instead, as the app's service account (client-credentials grant); the hosts
and the other settings come from ``Config.from_env()`` (PROCORE_HOST, PROCORE_LOGIN_HOST,
...), so the variables ``procore-async fake-server`` prints point it at a local fake.

``client.sync`` cuts the rows into batches of 500, sends 8 at a time and merges the
replies in input order; rows Procore refuses come back in ``result.errors`` with the
reason.  Procore ignores Idempotency-Token on sync: what makes a batch safe to retry
after a lost reply or a 5xx is that every row has an ``origin_id`` (here, the ERP's key),
so a resent batch updates the vendors it created instead of creating them twice.  A
batch with an unkeyed row is not resent after such a failure; it lands in
``result.failures`` with an ``OutcomeUnknownError``: check those vendors before sending
them again.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from typing import Any

import anyio

import procore_async
from procore_async.testing import FakeProcore


def demo_csv(rows: int = 5000) -> str:
    """A vendor list as an ERP would export it; every 500th row lacks a name."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["origin_id", "name", "city"])
    for i in range(1, rows + 1):
        writer.writerow([f"erp-{i}", "" if i % 500 == 0 else f"Supplier {i}", "Austin"])
    return out.getvalue()


async def connect() -> tuple[procore_async.AsyncClient, int]:
    """A client for real Procore when configured, else for a fake with 5% faults."""
    if os.environ.get("PROCORE_CLIENT_ID"):
        client = procore_async.AsyncClient(
            os.environ["PROCORE_CLIENT_ID"],
            os.environ["PROCORE_CLIENT_SECRET"],
            config=procore_async.Config.from_env(),
            grant_type="client_credentials",
        )
        return client, int(os.environ["PROCORE_COMPANY_ID"])
    fake = FakeProcore()
    fake.faults(error_rate=0.05, seed=4)
    return fake.client(), fake.company_id


async def main(path: str | None) -> int:
    text = await anyio.Path(path).read_text() if path else demo_csv()
    # Blank cells mean "not given" (a blank name is sent as "", which Procore refuses).
    rows: list[dict[str, Any]] = [
        {k: v for k, v in row.items() if v or k == "name"}
        for row in csv.DictReader(io.StringIO(text))
    ]
    client, company_id = await connect()
    printed = 0

    def progress(done: int, total: int | None) -> None:
        nonlocal printed
        if total and done * 10 // total > printed:  # a line every 10%
            printed = done * 10 // total
            print(f"  {done:>7,} / {total:,} rows", file=sys.stderr)

    async with client:
        result = await client.sync(
            "vendors/sync",
            body={"company_id": company_id, "updates": rows},
            company_id=company_id,
            raise_on_error=False,  # keep what the other batches did if one fails for good
            on_progress=progress,
        )
    print(f"{len(result.entities):,} vendors created or updated, {len(result.errors):,} rejected")
    for item in result.errors[:5]:
        print(f"  rejected {item.get('origin_id')}: {item.get('errors')}")
    for failure in result.failures:
        print(f"  batch {failure.index} failed ({len(failure.updates)} rows): {failure.error}")
    return 1 if result.failures else 0


if __name__ == "__main__":
    sys.exit(anyio.run(main, sys.argv[1] if len(sys.argv) > 1 else None))
