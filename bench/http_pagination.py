"""Pagination benchmark: ``HttpClient.paginate`` against a bare httpx loop over the same pages.

Both sides read the same pages from the same ``httpx.MockTransport``, whose bodies are built
once beforehand, so what differs is only what cxm adds per page: the retry loop, the rate-limit
and logging checks, JSON decoding, item selection, the paginator, the repeat guards and the
resume token. Measured:

- ``bare``: ``httpx.Client(transport=...)`` GETs ``?page=1..N`` and decodes each answer with
  ``response.json()``;
- ``cxm get_json``: ``HttpClient.get_json`` for the same pages (the client without paging);
- ``cxm paginate``: ``HttpClient.paginate`` with ``PageNumberPaginator(total_pages=...)``.

Each is run ``--repeats`` times, in alternating order, and the fastest run counts. The target
is an overhead of under 0.5 ms per page. Figures are reported, never asserted.

Run ``python bench/http_pagination.py [--pages N] [--items N] [--repeats N]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _table
import httpx
import ingest
import orjson

from cxm.connectors.http import HttpClient, PageNumberPaginator

BASE = "https://helpdesk.example.com/api/v2"
RESULTS = Path(__file__).resolve().parent / "results" / "http_pagination.json"
TARGET_MS = 0.5


def page_bodies(pages: int, items: int) -> list[bytes]:
    """Return the JSON body of every page: ``items`` tickets and the page count."""
    bodies = []
    for page in range(1, pages + 1):
        tickets = [
            {
                "id": (page - 1) * items + n,
                "subject": f"Order {page}-{n} arrived damaged",
                "status": "open",
                "requester": {"email": f"customer{n}@example.com"},
                "updated_at": "2025-01-01T10:00:00Z",
            }
            for n in range(items)
        ]
        bodies.append(orjson.dumps({"tickets": tickets, "meta": {"total_pages": pages}}))
    return bodies


def mock_transport(bodies: list[bytes]) -> httpx.MockTransport:
    """A transport answering ``GET /tickets?page=N`` with the prepared body of page N."""
    headers = {"Content-Type": "application/json"}

    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        return httpx.Response(200, content=bodies[page - 1], headers=headers)

    return httpx.MockTransport(handler)


def run_bare(transport: httpx.MockTransport, pages: int) -> int:
    records = 0
    with httpx.Client(base_url=BASE, transport=transport) as client:
        for page in range(1, pages + 1):
            response = client.get("/tickets", params={"page": page})
            response.raise_for_status()
            records += len(response.json()["tickets"])
    return records


def run_get_json(transport: httpx.MockTransport, pages: int) -> int:
    records = 0
    with HttpClient(BASE, transport=transport, connector="bench") as client:
        for page in range(1, pages + 1):
            records += len(client.get_json("/tickets", params={"page": page})["tickets"])
    return records


def run_paginate(transport: httpx.MockTransport, pages: int) -> int:
    records = 0
    paginator = PageNumberPaginator(total_pages="meta.total_pages")
    with HttpClient(BASE, transport=transport, connector="bench") as client:
        for page in client.paginate(
            "/tickets", paginator=paginator, items="tickets", stream="tickets"
        ):
            records += len(page.items)
            assert page.cursor  # the resume token is built for every page
    return records


RUNS: dict[str, Callable[[httpx.MockTransport, int], int]] = {
    "bare": run_bare,
    "cxm_get_json": run_get_json,
    "cxm_paginate": run_paginate,
}


def _figure(seconds: float, pages: int) -> dict[str, float]:
    return {
        "seconds": seconds,
        "per_page_ms": seconds / pages * 1000,
        "pages_per_second": pages / seconds,
    }


def bench_pagination(pages: int = 10_000, items: int = 20, repeats: int = 3) -> dict[str, Any]:
    """Time the three loops over the same pages; return the figures.

    Returns:
        ``config``; ``bare``, ``cxm_get_json`` and ``cxm_paginate``, each with ``seconds``,
        ``per_page_ms`` and ``pages_per_second`` of its fastest run; ``overhead_per_page_ms``
        (paginate minus bare, per page) and ``ratio`` (paginate / bare), the same for
        ``get_json``; ``records`` read by each loop (all equal); ``target_ms`` and ``met``.
    """
    bodies = page_bodies(pages, items)
    transport = mock_transport(bodies)
    for run in RUNS.values():  # warm up imports, caches and the allocator
        run(transport, min(pages, 50))
    best = dict.fromkeys(RUNS, float("inf"))
    records: dict[str, int] = {}
    for repeat in range(repeats):
        order = list(RUNS) if repeat % 2 == 0 else list(reversed(RUNS))
        for name in order:
            started = time.perf_counter()
            records[name] = RUNS[name](transport, pages)
            best[name] = min(best[name], time.perf_counter() - started)
    bare, get_json, paginate = (best[name] for name in RUNS)
    overhead = (paginate - bare) / pages * 1000
    return {
        "config": {"pages": pages, "items_per_page": items, "repeats": repeats},
        "bare": _figure(bare, pages),
        "cxm_get_json": _figure(get_json, pages),
        "cxm_paginate": _figure(paginate, pages),
        "overhead_per_page_ms": overhead,
        "ratio": paginate / bare,
        "overhead_per_page_ms_get_json": (get_json - bare) / pages * 1000,
        "ratio_get_json": get_json / bare,
        "records": records,
        "records_equal": len(set(records.values())) == 1 and records["bare"] == pages * items,
        "target_ms": TARGET_MS,
        "met": overhead < TARGET_MS,
    }


def rows(result: dict[str, Any]) -> list[list[str]]:
    """Rows for ``bench/run.py``'s table: suite, measurement, seconds, per second, ratio, target."""
    pages = result["config"]["pages"]
    verdict = "met" if result["met"] else "MISSED"
    lines = [
        [
            "http",
            f"cxm paginate, {pages:,} pages "
            f"({result['overhead_per_page_ms']:+.3f} ms/page vs bare)",
            f"{result['cxm_paginate']['seconds']:.2f}",
            f"{result['cxm_paginate']['pages_per_second']:,.0f}",
            f"{result['ratio']:.2f}x",
            f"< {result['target_ms']:g} ms/page overhead {verdict}",
        ],
        [
            "http",
            f"cxm get_json per page ({result['overhead_per_page_ms_get_json']:+.3f} ms/page)",
            f"{result['cxm_get_json']['seconds']:.2f}",
            f"{result['cxm_get_json']['pages_per_second']:,.0f}",
            f"{result['ratio_get_json']:.2f}x",
            "",
        ],
        [
            "http",
            "bare httpx.Client + response.json(), same pages",
            f"{result['bare']['seconds']:.2f}",
            f"{result['bare']['pages_per_second']:,.0f}",
            "1.00x",
            "baseline",
        ],
    ]
    if not result["records_equal"]:
        lines.append(["http", f"check: RECORD COUNTS DIFFER {result['records']}", "", "", "", ""])
    return lines


def table(result: dict[str, Any]) -> str:
    """Render the figures as a plain-text table, in the layout of ``bench/run.py``."""
    header = ["suite", "measurement", "seconds", "pages/s", "vs bare", "target"]
    return _table.render(header, rows(result))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=10_000, metavar="N")
    parser.add_argument("--items", type=int, default=20, metavar="N", help="records per page")
    parser.add_argument("--repeats", type=int, default=3, metavar="N")
    args = parser.parse_args(argv)
    for name in ("pages", "items", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(
        f"http: {args.pages:,} pages of {args.items} records, best of {args.repeats} ...",
        flush=True,
    )
    result = bench_pagination(args.pages, args.items, args.repeats)
    result["environment"] = ingest.environment()
    env = result["environment"]
    print(
        f"cxm {env['cxm']} (git {env['source']}), httpx {httpx.__version__}, "
        f"Python {env['python']}, {env['cpus']} CPUs, load average {env['load_average']}\n"
    )
    print(table(result))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nfigures written to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
