"""Load the running web app from a loopback load generator: diary writes and the patient page.

Starts `ldnkit serve` on a fresh SQLite file with the demo clinic (or drives --url), then runs
50 concurrent clients and prints p50/p99 latency and throughput for
  - GET /api/v1/me            (the baseline: a token lookup and nothing else),
  - POST /api/v1/patients/{id}/diary  (a diary write: validate, scope check, audit, commit),
  - GET /clinic/patients/{id} (the clinician's patient page: chart, assessment, diary table),
with each one's p99 as a ratio of the baseline's, in two runs:
  - paced: each client sends at a steady rate (people do not click without pause), so the
    latency is that of a server under a known load;
  - flat out: each client sends its next request as soon as the last is answered, so the
    throughput is the server's capacity and the latency mostly time spent queueing.
Target: diary write p99 under 50 ms on SQLite (paced).
Run: .venv/bin/python bench/web.py [--clients 50] [--requests 20] [--url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

import httpx

from ldnkit.services.demo import DEMO_CLINICIAN, DEMO_PASSWORD
from ldnkit.web.server import api_token, sign_in, wait_until_serving


@contextmanager
def demo_server() -> Iterator[str]:
    """`ldnkit serve --demo-if-empty` on a fresh SQLite file, in its own process."""
    with tempfile.TemporaryDirectory() as folder:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        code = "import sys; from ldnkit.cli import main; sys.exit(main(sys.argv[1:]))"
        process = subprocess.Popen(
            [sys.executable, "-c", code, "serve", "--port", str(port), "--demo-if-empty"],
            env={**os.environ, "LDNKIT_DATABASE_URL": f"sqlite:///{folder}/bench.db"},
            stdout=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_serving(url)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=15)


Request = Callable[[httpx.AsyncClient, int, int], Awaitable[httpx.Response]]


async def run(
    url: str,
    clients: int,
    requests: int,
    make: Request,
    rate: float | None,
    **client_args: object,
) -> tuple[list[float], float]:
    """Latencies (ms) of clients x requests calls, and the wall time (s) they took.

    With `rate`, each client sends `rate` requests a second (start times spread evenly over
    the clients); without, each sends its next request as soon as the last one is answered.
    Clients are created and connected (one untimed request each) before the clock starts:
    setting up 50 HTTP clients blocks the generator's event loop, not the server.
    """
    # Idle connections are dropped before the server's 5 s keep-alive ends, so a slow client
    # never sends on a connection the server is closing.
    limits = httpx.Limits(keepalive_expiry=1.0 if rate and rate < 1 else 4.0)
    https = [
        httpx.AsyncClient(base_url=url, timeout=60, limits=limits, **client_args)  # type: ignore[arg-type]
        for _ in range(clients)
    ]
    latencies: list[float] = []
    try:
        await asyncio.gather(*(make(http, k, -1) for k, http in enumerate(https)))
        start = time.perf_counter()

        async def one_client(k: int, http: httpx.AsyncClient) -> None:
            for i in range(requests):
                if rate:
                    due = start + (i + k / clients) / rate
                    await asyncio.sleep(max(0.0, due - time.perf_counter()))
                began = time.perf_counter()
                response = await make(http, k, i)
                latencies.append((time.perf_counter() - began) * 1000)
                if response.status_code >= 400:
                    raise RuntimeError(f"{response.status_code}: {response.text[:200]}")

        await asyncio.gather(*(one_client(k, http) for k, http in enumerate(https)))
        return latencies, time.perf_counter() - start
    finally:
        for http in https:
            await http.aclose()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=20, help="per client, per scenario")
    parser.add_argument("--url", help="drive an app that is already running (demo clinic)")
    args = parser.parse_args()
    with contextmanager(lambda: iter([args.url]))() if args.url else demo_server() as url:
        token = api_token(url, DEMO_CLINICIAN, DEMO_PASSWORD)
        bearer = {"Authorization": f"Bearer {token}"}
        patients = [p["id"] for p in httpx.get(f"{url}/api/v1/patients", headers=bearer).json()]
        with httpx.Client(base_url=url) as browser:
            sign_in(browser, DEMO_CLINICIAN, DEMO_PASSWORD)
            cookies = dict(browser.cookies)
        rng = random.Random(7)
        first = dt.date(2020, 1, 1)

        async def me(http: httpx.AsyncClient, _k: int, _i: int) -> httpx.Response:
            return await http.get("/api/v1/me")

        written = itertools.count()

        async def write(http: httpx.AsyncClient, k: int, _i: int) -> httpx.Response:
            day = first + dt.timedelta(days=next(written))  # a new day per write: no conflicts
            entry = {
                "day": day.isoformat(),
                "dose_mg": 3.0,
                "pain": rng.randint(0, 10),
                "fatigue": rng.randint(0, 10),
                "sleep_quality": rng.randint(0, 10),
                "note": "bench",
            }
            return await http.post(
                f"/api/v1/patients/{patients[k % len(patients)]}/diary", json=entry
            )

        async def patient_page(http: httpx.AsyncClient, k: int, _i: int) -> httpx.Response:
            return await http.get(f"/clinic/patients/{patients[k % len(patients)]}")

        # (name, request, client options, paced rate per client, requests per client)
        scenarios: list[tuple[str, Request, dict[str, object], float, int]] = [
            ("GET /api/v1/me (baseline)", me, {"headers": bearer}, 2.0, args.requests),
            ("POST diary entry", write, {"headers": bearer}, 2.0, args.requests),
            (
                "GET patient page",
                patient_page,
                {"cookies": cookies},
                0.2,
                max(2, args.requests // 5),
            ),
        ]
        print(f"{args.clients} concurrent clients on loopback, {url}")
        for paced in (True, False):
            print(
                "\npaced (rate per client)" if paced else "\nflat out (no pause between requests)"
            )
            print(
                f"{'scenario':<28} {'rate':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} ", end=""
            )
            print(f"{'req/s':>8} {'p99/base':>9}")
            baseline = None
            for name, make, options, rate, count in scenarios:
                latencies, wall = asyncio.run(
                    run(url, args.clients, count, make, rate if paced else None, **options)
                )
                p99 = pct(latencies, 0.99)
                baseline = baseline or p99
                shown = f"{rate:g}/s" if paced else "-"
                p50, p95 = statistics.median(latencies), pct(latencies, 0.95)
                print(f"{name:<28} {shown:>6} {p50:>8.1f} {p95:>8.1f} {p99:>8.1f} ", end="")
                print(f"{len(latencies) / wall:>8.0f} {p99 / baseline:>8.1f}x")


if __name__ == "__main__":
    main()
