"""`initialize` only, side by side: Envoy's native mcp_router (c) and our gateway (d), same run,
same machine, with loadbench.py's own stack, bodies and h2load runner (issue 12, part 2).

    .venv/bin/python benches/initbench.py [--rounds 3] [--duration 5] [--warmup 1]

Needs the release binaries `make loadbench` builds. Per round and configuration the backend
is restarted (as loadbench does for session creation). Prints req/s, p50/p99 and CPU per
initialize (Envoy, broker, backend: /proc/<pid>/stat utime+stime over the run), and the
ratio d/c. Then opens 20 sessions through (d), each calling one tool of one server, and reads
the broker's `mcpgw_broker_backend_sessions_opened_total`: backend sessions per client session.
"""

from __future__ import annotations

import argparse
import base64
import secrets
import statistics
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import loadbench as lb  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--duration", type=float, default=5)
    p.add_argument("--warmup", type=float, default=1)
    p.add_argument("--conc", type=int, default=16)
    args = p.parse_args()
    lb.ARGS = argparse.Namespace(envoy_concurrency=1, duration=args.duration, warmup=args.warmup, rounds=args.rounds)
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    work = Path(tempfile.mkdtemp(prefix="initbench-"))
    procs = lb.Procs(work)
    rows: dict[str, list[dict]] = {"c": [], "d": []}
    try:
        lb.start_stack(procs, work, key, stateless=False)
        body = work / "init.json"
        body.write_bytes(lb.init_body())
        for rnd in range(args.rounds):
            for cfg in (("c", "d") if rnd % 2 == 0 else ("d", "c")):
                procs.stop("backend")
                lb.start_backend(procs)
                pids = lb.pid_for(cfg, procs)
                before = {n: lb.cpu_ticks(pid) for n, pid in pids.items()}
                res = lb.h2load(lb.port_of(cfg), body, dict(lb.BASE_HEADERS), args.conc, args.duration, args.warmup, work / "h2load.log")
                after = {n: lb.cpu_ticks(pid) for n, pid in pids.items()}
                for n in pids:
                    res[f"cpu_us_{n}"] = (after[n] - before[n]) / lb.TICK * 1e6 / max(res["done"], 1)
                rows[cfg].append(res)
                print(f"r{rnd} {lb.LABEL[cfg]:22s} {res['rps']:8.0f} req/s  p50 {res.get('p50', 0)} us  p99 {res.get('p99', 0)} us"
                      f"  errors {res['errors']}" + "".join(f"  {n} {res[f'cpu_us_{n}']:.0f}us" for n in pids), flush=True)
        med = {cfg: statistics.median(r["rps"] for r in rs) for cfg, rs in rows.items()}
        broker = statistics.median(r["cpu_us_broker"] for r in rows["d"])
        print(f"median initialize rate: c {med['c']:.0f}/s, d {med['d']:.0f}/s, d/c = {med['d'] / max(med['c'], 1):.2f}x;"
              f" broker CPU per initialize (median) {broker:.0f} us")
        # Backend sessions per client session: 20 sessions, each using one server once.
        procs.stop("backend")
        lb.start_backend(procs)
        for i in range(20):
            sid = lb.open_session("d")
            lb.check_call("d", sid, f"s{i}")
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{lb.BROKER_PORT}/metrics", timeout=10).read().decode()
        opened = sum(float(l.rsplit(" ", 1)[1]) for l in metrics.splitlines() if l.startswith("mcpgw_broker_backend_sessions_opened_total{"))
        print(f"backend sessions opened by the broker for 20 sessions each using 1 of 10 servers: {opened:.0f}")
    finally:
        procs.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
