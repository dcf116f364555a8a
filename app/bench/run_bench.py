#!/usr/bin/env python
"""Load benchmark (not a test): the real entrypoint and gunicorn settings on
loopback, against PostgreSQL.

1. creates a fresh PostgreSQL database, runs `docker-entrypoint.sh migrate`,
   seeds releases;
2. starts `docker-entrypoint.sh web` (gunicorn.conf.py, production settings)
   and drives /healthz, /readyz and the list endpoint with wrk (or a Python
   load generator when wrk is missing);
3. starts the same gunicorn settings with a raw WSGI hello app (bench/hello_wsgi.py)
   as the baseline;
4. prints requests/s and p50/p99 latency, and the ratios to the baseline;
   --write-results also writes them to a Markdown file with date and machine.

Usage: DATABASE_URL=postgres://... python bench/run_bench.py [--duration 10]
(scripts/bench.sh starts PostgreSQL and does this.)
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

APP_DIR = Path(__file__).resolve().parent.parent
ENTRYPOINT = APP_DIR / "docker-entrypoint.sh"
HOST_HEADER = "bench.local"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "GUNICORN_"))}
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        DATABASE_URL=database_url,
        DJANGO_SECRET_KEY="bench-" + uuid.uuid4().hex * 2,
        DJANGO_ALLOWED_HOSTS=HOST_HEADER,
        GUNICORN_BIND_HOST="127.0.0.1",
        # Capacity, not the abuse limits: one load generator is one client address.
        DJANGO_THROTTLE_ANON="100000000/minute",
        DJANGO_THROTTLE_USER="100000000/minute",
    )
    return env


class PgDatabase:
    """A throwaway database next to the one DATABASE_URL names."""

    def __init__(self, admin_url: str):
        import dj_database_url

        self.cfg = dj_database_url.parse(admin_url)
        self.name = f"bench_{uuid.uuid4().hex[:10]}"

    def _connect(self):
        import psycopg

        c = self.cfg
        return psycopg.connect(
            host=c["HOST"], port=c["PORT"] or 5432, user=c["USER"], password=c["PASSWORD"],
            dbname=c["NAME"], autocommit=True,
        )

    @property
    def url(self) -> str:
        c = self.cfg
        return f"postgres://{c['USER']}:{c['PASSWORD']}@{c['HOST']}:{c['PORT'] or 5432}/{self.name}"

    def create(self) -> None:
        with self._connect() as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        import psycopg

        # After a large seed, autovacuum (a superuser process FORCE may not end) can
        # be working in it for a while: retry until it is done.
        for attempt in range(60):
            try:
                with self._connect() as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
                return
            except psycopg.errors.InsufficientPrivilege:
                if attempt == 59:
                    raise
                time.sleep(1)

    def server_version(self) -> str:
        with self._connect() as conn:
            return conn.execute("SHOW server_version").fetchone()[0]


SEED = """
import sys
from django.contrib.auth.models import User
from releases.models import Release
target = int(sys.argv[-1]) if sys.argv[-1].isdigit() else int(__import__("os").environ["BENCH_ROWS"])
users = list(User.objects.filter(username__startswith="user")) or [User.objects.create_user(f"user{i}") for i in range(20)]
envs, statuses = ["dev", "staging", "prod"], ["pending", "succeeded", "failed"]
have = Release.objects.count()
for start in range(have, target, 5000):
    Release.objects.bulk_create(
        Release(service=f"service-{i % 25}", environment=envs[i % 3], version=f"1.{i}.0",
                commit_sha=f"{i:040x}", status=statuses[i % 3], notes="seeded " * 10,
                created_by=users[i % 20])
        for i in range(start, min(start + 5000, target))
    )
print(Release.objects.count())
"""

# A cursor to the page that starts halfway down the list: what a client that
# walked there by following `next` would send.
DEEP_CURSOR = """
import base64, os
from urllib.parse import urlencode
from releases.models import Release
middle = Release.objects.order_by("-created_at", "-id").values_list("created_at", flat=True)[int(os.environ["BENCH_ROWS"]) // 2]
print(base64.b64encode(urlencode({"p": middle.isoformat()}).encode()).decode())
"""


def run(cmd: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(cmd, cwd=APP_DIR, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


class Server:
    """docker-entrypoint.sh web on a loopback port."""

    def __init__(self, env: dict[str, str], wsgi_app: str | None = None):
        self.port = free_port()
        self.env = {**env, "PORT": str(self.port)}
        if wsgi_app:
            self.env["GUNICORN_WSGI_APP"] = wsgi_app
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [str(ENTRYPOINT), "web"],
            cwd=APP_DIR, env=self.env, stdout=self.log, stderr=self.log,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.seek(0)
                sys.exit(f"bench: gunicorn exited:\n{self.log.read().decode(errors='replace')}")
            try:
                if get(self.port, "/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        sys.exit("bench: gunicorn did not start")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


HEADERS = {"Host": HOST_HEADER, "X-Forwarded-Proto": "https"}


def get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=HEADERS)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# --- load generators -------------------------------------------------------

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * _UNITS[unit]


def load_wrk(url: str, duration: int, connections: int, threads: int) -> dict:
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "5s"]
    for name, value in HEADERS.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run(args + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": rps, "p50_ms": p50, "p99_ms": p99, "requests": total,
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": sum(map(int, errors.groups())) if errors else 0,
    }


def load_python(url: str, duration: int, connections: int, threads: int) -> dict:
    """Closed-loop generator: `connections` threads, one request at a time each."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + duration

    def worker():
        mine: list[float] = []
        conn = None
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
                conn.request("GET", path, headers=HEADERS)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    errors[0] += 1
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except OSError:
                errors[0] += 1
                conn = None
                continue
            mine.append((time.perf_counter() - started) * 1000)
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=worker) for _ in range(connections)]
    started = time.monotonic()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.monotonic() - started
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "rps": len(latencies) / elapsed, "p50_ms": cuts[49], "p99_ms": cuts[98],
        "requests": len(latencies), "non_2xx": errors[0], "socket_errors": 0,
    }


# --- main ------------------------------------------------------------------


def machine_info() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": str(len(os.sched_getaffinity(0))),
        "cpu": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=int(os.environ.get("BENCH_DURATION", 10)))
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tool", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--write-results", type=Path, help="write a Markdown report here")
    parser.add_argument("--rows", default="100,100000", help="table sizes to measure the list at (comma-separated)")
    args = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        sys.exit("bench: DATABASE_URL must name a PostgreSQL database (scripts/bench.sh starts one)")

    tool = args.tool
    if tool == "auto":
        tool = "wrk" if shutil.which("wrk") else "python"
    load = load_wrk if tool == "wrk" else load_python

    db = PgDatabase(database_url)
    db.create()
    results: dict[str, dict] = {}
    # As gunicorn.conf.py computes it.
    workers = os.environ.get("WEB_CONCURRENCY") or str(2 * len(os.sched_getaffinity(0)) + 1)
    try:
        env = base_env(db.url)
        run([str(ENTRYPOINT), "migrate"], env)
        print(f"bench: load tool: {tool}; {args.duration}s per target, {args.connections} connections", flush=True)

        def measure(label, wsgi_app, path):
            server = Server(env, wsgi_app)
            try:
                status, body = get(server.port, path)
                if status != 200:
                    sys.exit(f"bench: {path} answered {status}: {body[:200]!r}")
                url = f"http://127.0.0.1:{server.port}{path}"
                if args.warmup:
                    load(url, args.warmup, args.connections, args.threads)
                results[label] = load(url, args.duration, args.connections, args.threads)
            finally:
                server.stop()
            r = results[label]
            print(f"  {label}: {r['rps']:.0f} req/s, p50 {r['p50_ms']:.2f} ms, "
                  f"p99 {r['p99_ms']:.2f} ms ({r['requests']} requests, "
                  f"{r['non_2xx']} non-2xx, {r['socket_errors']} socket errors)", flush=True)

        for label, wsgi_app, path in [
            ("raw WSGI hello (baseline)", "bench.hello_wsgi:app", "/"),
            ("/healthz", None, "/healthz"),
            ("/readyz (SELECT 1)", None, "/readyz"),
        ]:
            measure(label, wsgi_app, path)
        # The list at each table size: its first page, and a page halfway down.
        for rows in [int(x) for x in args.rows.split(",")]:
            seeded = run([str(ENTRYPOINT), "manage", "shell", "-c", SEED], {**env, "BENCH_ROWS": str(rows)}).strip().splitlines()[-1]
            cursor = run([str(ENTRYPOINT), "manage", "shell", "-c", DEEP_CURSOR], {**env, "BENCH_ROWS": str(rows)}).strip().splitlines()[-1]
            print(f"bench: {seeded} releases", flush=True)
            measure(f"/api/releases/ first page, {rows:,} rows", None, "/api/releases/")
            measure(f"/api/releases/ page at row {rows // 2:,}, {rows:,} rows", None, f"/api/releases/?cursor={cursor}")
            # The default page size (20): a third of the releases are prod, so even at 100
            # rows the page is full and the two table sizes serve the same rows' worth.
            measure(f"/api/releases/?environment=prod, {rows:,} rows", None, "/api/releases/?environment=prod")
        pg_version = db.server_version()
    finally:
        db.drop()

    baseline = results["raw WSGI hello (baseline)"]
    lines = [
        "| target | req/s | p50 ms | p99 ms | req/s vs raw | p50 vs raw | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, r in results.items():
        lines.append(
            f"| {label} | {r['rps']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
            f"{r['rps'] / baseline['rps']:.2f} | {r['p50_ms'] / baseline['p50_ms']:.2f} | "
            f"{r['non_2xx'] + r['socket_errors']} |"
        )
    table = "\n".join(lines)
    print()
    print(table)

    if args.write_results:
        info = machine_info()
        tool_version = "python load generator (bench/run_bench.py)"
        if tool == "wrk":
            probe = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
            tool_version = (probe.stdout + probe.stderr).splitlines()[0].strip()
        report = f"""# Benchmark results

Produced by `scripts/bench.sh` (`bench/run_bench.py --write-results bench/RESULTS.md`).
Not a test: figures depend on the machine and on what else it was doing.

- date: {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}
- machine: {info['cpus']} CPUs ({info['cpu']}), Linux {info['kernel']}, Python {info['python']}
- database: PostgreSQL {pg_version} on 127.0.0.1 (throwaway cluster from
  scripts/pg-start.sh: fsync off), releases seeded to {args.rows}
- server: `docker-entrypoint.sh web` with gunicorn.conf.py defaults
  ({workers} sync workers, preload, JSON access log on, written to a file),
  production settings (DEBUG off, X-Forwarded-Proto: https as from the ALB)
- load: {tool_version}, {args.threads} threads, {args.connections} connections,
  {args.duration} s per target after {args.warmup} s warm-up, loopback only; the load
  generator shares the {info['cpus']} CPUs with the server
- baseline: the same gunicorn settings serving a raw WSGI hello app (bench/hello_wsgi.py)

{table}

"vs raw" columns: requests/s and median latency relative to the baseline.
"""
        args.write_results.write_text(report)
        print(f"\nbench: wrote {args.write_results}")


if __name__ == "__main__":
    main()
