#!/usr/bin/env python3
"""Scale figures for lazy backend sessions and backend restarts (issue 12, item 3).
Run by `make scalebench`; writes benches/results/scale.json.

One stack, one run, on this machine (everything on 127.0.0.1, free ports picked at start):
50 rmcp bench backends (`mcpgw-bench-backend`, one process per backend), the broker, and Envoy
with the bootstrap `mcp-gateway render` makes of a 50-server gateway config (loadbench.py's
helpers, with its port and server-count globals pointed at this run's).

  a. sessions: SESSIONS client sessions, each `initialize` + `notifications/initialized` + one
     `tools/call` to ONE server (session i uses server i mod 50), CREATE_CONC at a time.
     Records the time to create them, the backend sessions opened (each backend's own count,
     GET /stats, beside the broker's mcpgw_broker_backend_sessions_opened_total), RSS of Envoy,
     broker and backends (sum) before and after, Envoy and broker CPU.
  b. restart under load: LOAD_SESSIONS of those sessions each call LOAD_SERVERS servers in
     turn (after one warm-up call to each, so every (session, server) pair already goes direct)
     for DURATION seconds; at KILL_AT s the first of those servers is killed (SIGKILL) and at
     RESTART_AT s started again on the same port. Per server: requests, errors; for the killed
     one: errors during the outage (and whether each is a JSON-RPC error naming the server, and
     how long it took), and after the restart per session: -32030 answers, other errors, and
     whether the same session succeeded on it again.

The client is Python asyncio + httpx (HTTP/1.1, pooled connections): the figures are counts,
memory and per-session outcomes, which h2load cannot attribute to sessions. On a 2-core
machine the client competes with Envoy and the broker for CPU: rates here are not speed
figures (loadbench.py and initbench.py are).

Every child process is stopped on exit, also on errors and Ctrl-C/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import loadbench as lb  # noqa: E402

import httpx  # noqa: E402  (in .venv: scripts/setup.sh)

RESULTS = lb.RESULTS
BACKEND_RESTARTED = -32030  # common/src/jsonrpc.rs


def free_ports(n: int) -> list[int]:
    """n distinct ports the kernel says are free on 127.0.0.1 now (all held at once, then released)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def loadavg() -> list[str]:
    return Path("/proc/loadavg").read_text().split()[:3]


# ---------------------------------------------------------------------------------------------
# The stack


class Stack:
    def __init__(self, work: Path, n_backends: int, envoy_concurrency: int):
        self.work = work
        self.n = n_backends
        self.procs = lb.Procs(work)
        ports = free_ports(n_backends + 3)
        self.backend_ports = ports[:n_backends]
        self.listen, self.admin, self.broker_port = ports[n_backends:]
        # loadbench's config helpers read these globals: point them at this run.
        lb.N_BACKENDS = n_backends
        lb.BACKEND_PORTS = self.backend_ports
        lb.PORTS = {**lb.PORTS, "d": self.listen}
        lb.ADMIN = {**lb.ADMIN, "d": self.admin}
        lb.BROKER_PORT = self.broker_port
        self.envoy_concurrency = envoy_concurrency
        self.key = base64.b64encode(secrets.token_bytes(32)).decode()
        self.url = f"http://127.0.0.1:{self.listen}/mcp"

    def start_backend(self, i: int) -> None:
        self.procs.start(f"backend-s{i}", [str(lb.BACKEND_BIN), "--filler", "19", "--listen", f"127.0.0.1:{self.backend_ports[i]}"])

    def start(self) -> None:
        for i in range(self.n):
            self.start_backend(i)
        for p in self.backend_ports:
            lb.wait_port(p, path="/stats")
        gw = self.work / "gateway.yaml"
        gw.write_text(lb.gateway_yaml())
        self.procs.start("broker", [str(lb.BROKER_BIN), "--config", str(gw)], {lb.KEY_ENV: self.key})
        cfg = lb.envoy_ours(self.key)
        path = self.work / "envoy.json"
        path.write_text(json.dumps(cfg, indent=1))
        self.procs.start("envoy", [lb.envoy_bin(), "-c", str(path), "--concurrency", str(self.envoy_concurrency),
                                   "--disable-hot-restart", "-l", "warning"], {lb.KEY_ENV: self.key})
        lb.wait_port(self.broker_port, path="/healthz")
        lb.wait_port(self.admin, path="/ready")
        self.procs.check()

    def backend_pids(self) -> list[int]:
        return [self.procs.pid(f"backend-s{i}") for i in range(self.n)]

    def rss(self) -> dict:
        return {"envoy_kib": lb.rss_kib(self.procs.pid("envoy")), "broker_kib": lb.rss_kib(self.procs.pid("broker")),
                "backends_kib": sum(lb.rss_kib(p) for p in self.backend_pids())}

    def cpu(self) -> dict:
        return {"envoy": lb.cpu_ticks(self.procs.pid("envoy")), "broker": lb.cpu_ticks(self.procs.pid("broker")),
                "backends": sum(lb.cpu_ticks(p) for p in self.backend_pids())}

    def backend_stats(self) -> list[dict]:
        out = []
        for p in self.backend_ports:
            with urllib.request.urlopen(f"http://127.0.0.1:{p}/stats", timeout=10) as r:
                out.append(json.loads(r.read()))
        return out

    def broker_metric(self, name: str) -> dict[str, float]:
        """A broker counter by its `server` label."""
        text = urllib.request.urlopen(f"http://127.0.0.1:{self.broker_port}/metrics", timeout=10).read().decode()
        out: dict[str, float] = {}
        for line in text.splitlines():
            if line.startswith(name + "{"):
                labels, val = line.rsplit(" ", 1)
                server = labels.split('server="', 1)[1].split('"', 1)[0] if 'server="' in labels else ""
                out[server] = out.get(server, 0) + float(val)
        return out


def cpu_s(before: dict, after: dict) -> dict:
    return {k: round((after[k] - before[k]) / lb.TICK, 2) for k in before}


# ---------------------------------------------------------------------------------------------
# The client


def call_body(server: int, text: str, id_: int = 2) -> bytes:
    return lb.rpc_body("tools/call", {"name": f"s{server}_echo", "arguments": {"text": text}}, id_)


async def post(client: httpx.AsyncClient, url: str, body: bytes, sid: str | None = None) -> httpx.Response:
    h = dict(lb.BASE_HEADERS)
    if sid:
        h["mcp-session-id"] = sid
        h["mcp-protocol-version"] = lb.PROTOCOL
    return await client.post(url, content=body, headers=h)


def classify(r: httpx.Response | None, exc: BaseException | None, text: str) -> tuple[str, int | None, str]:
    """(kind, JSON-RPC code, message): kind is ok, rpc_error, http_<status>, bad_answer or an exception name."""
    if exc is not None:
        return type(exc).__name__, None, str(exc)[:200]
    assert r is not None
    if r.status_code != 200:
        return f"http_{r.status_code}", None, r.text[:200]
    try:
        msg = lb.decode(r.headers.get("content-type", ""), r.content)
    except Exception as e:  # noqa: BLE001
        return "bad_answer", None, f"{e}"[:200]
    if "error" in msg:
        return "rpc_error", msg["error"].get("code"), str(msg["error"].get("message", ""))[:300]
    res = msg.get("result") or {}
    got = (res.get("content") or [{}])[0].get("text")
    if res.get("isError") or got != text:
        return "bad_answer", None, str(res)[:200]
    return "ok", None, ""


async def open_session(client: httpx.AsyncClient, url: str, server: int) -> str:
    r = await post(client, url, lb.init_body())
    if r.status_code != 200 or "mcp-session-id" not in r.headers:
        raise RuntimeError(f"initialize: {r.status_code} {r.text[:200]}")
    sid = r.headers["mcp-session-id"]
    r = await post(client, url, lb.rpc_body("notifications/initialized", id_=None), sid)
    if r.status_code not in (200, 202):
        raise RuntimeError(f"notifications/initialized: {r.status_code}")
    r = await post(client, url, call_body(server, "m"), sid)
    kind, code, msg = classify(r, None, "m")
    if kind != "ok":
        raise RuntimeError(f"tools/call s{server}: {kind} {code} {msg}")
    return sid


async def create_sessions(url: str, n: int, n_servers: int, conc: int, budget: float) -> tuple[list[str | None], list[str]]:
    sids: list[str | None] = [None] * n
    errors: list[str] = []
    next_i = 0
    end = time.monotonic() + budget
    limits = httpx.Limits(max_connections=conc, max_keepalive_connections=conc)
    async with httpx.AsyncClient(limits=limits, timeout=30, trust_env=False) as client:
        async def worker() -> None:
            nonlocal next_i
            while next_i < n and time.monotonic() < end:
                i = next_i
                next_i += 1
                try:
                    sids[i] = await open_session(client, url, i % n_servers)
                except Exception as e:  # noqa: BLE001
                    errors.append(f"session {i}: {type(e).__name__}: {e}"[:300])
                if i and i % 2000 == 0:
                    print(f"    {i} sessions, {len(errors)} errors", flush=True)
        await asyncio.gather(*(worker() for _ in range(conc)))
    return sids, errors


async def run_load(stack: Stack, sids: list[str], servers: list[int], victim: int, args) -> dict:
    """Every session calls its servers in turn until DURATION; the victim is killed at KILL_AT
    and restarted at RESTART_AT. Returns every call's record and the event times."""
    url = stack.url
    calls: list[tuple] = []  # (t0, t1, session index, server, kind, code, message)
    events: dict = {}
    limits = httpx.Limits(max_connections=args.load_conc, max_keepalive_connections=args.load_conc)
    async with httpx.AsyncClient(limits=limits, timeout=args.call_timeout, trust_env=False) as client:
        # Warm-up: one call per (session, server), so each pair has its backend session and goes
        # direct before the clock starts (a session's first use of a server goes via the broker).
        sem = asyncio.Semaphore(args.load_conc)

        async def warm(si: int, s: int) -> str:
            async with sem:
                try:
                    r = await post(client, url, call_body(s, "w"), sids[si])
                    return classify(r, None, "w")[0]
                except Exception as e:  # noqa: BLE001
                    return type(e).__name__
        kinds = await asyncio.gather(*(warm(si, s) for si in range(len(sids)) for s in servers))
        events["warmup_calls"] = len(kinds)
        events["warmup_errors"] = sum(1 for k in kinds if k != "ok")
        print(f"    warm-up: {len(kinds)} calls, {events['warmup_errors']} errors", flush=True)

        t_start = time.monotonic()
        t_end = t_start + args.duration
        seq = 0

        async def session_loop(si: int) -> None:
            nonlocal seq
            k = si % len(servers)
            while time.monotonic() < t_end:
                s = servers[k]
                k = (k + 1) % len(servers)
                seq += 1
                text = f"c{seq}"
                t0 = time.monotonic()
                r, exc = None, None
                try:
                    r = await post(client, url, call_body(s, text), sids[si])
                except Exception as e:  # noqa: BLE001
                    exc = e
                t1 = time.monotonic()
                kind, code, msg = classify(r, exc, text)
                calls.append((round(t0 - t_start, 4), round(t1 - t_start, 4), si, s, kind, code, msg))
                if args.pace:
                    await asyncio.sleep(args.pace)

        async def chaos() -> None:
            await asyncio.sleep(max(0.0, t_start + args.kill_at - time.monotonic()))
            p = stack.procs.procs.pop(f"backend-s{victim}")
            p.send_signal(signal.SIGKILL)
            p.wait(5)
            events["killed_at"] = round(time.monotonic() - t_start, 3)
            print(f"    t={events['killed_at']:.1f}s: s{victim} killed (SIGKILL)", flush=True)
            await asyncio.sleep(max(0.0, t_start + args.restart_at - time.monotonic()))
            events["restart_started_at"] = round(time.monotonic() - t_start, 3)
            stack.start_backend(victim)
            port = stack.backend_ports[victim]
            while True:  # ready = its /stats answers
                try:
                    await asyncio.to_thread(lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=1).read())
                    break
                except OSError:
                    await asyncio.sleep(0.05)
                    stack.procs.check()
            events["restarted_at"] = round(time.monotonic() - t_start, 3)
            print(f"    t={events['restarted_at']:.1f}s: s{victim} answers again on port {port}", flush=True)

        cpu0 = stack.cpu()
        await asyncio.gather(chaos(), *(session_loop(si) for si in range(len(sids))))
        events["cpu_s"] = cpu_s(cpu0, stack.cpu())
        events["elapsed_s"] = round(time.monotonic() - t_start, 2)
    return {"calls": calls, "events": events}


def analyse_load(calls: list[tuple], events: dict, servers: list[int], victim: int, n_sessions: int) -> dict:
    kill, back = events["killed_at"], events["restarted_at"]
    per_server = {}
    for s in servers:
        cs = [c for c in calls if c[3] == s]
        errs: dict[str, int] = {}
        for c in cs:
            if c[4] != "ok":
                key = c[4] if c[5] is None else f"{c[4]} {c[5]}"
                errs[key] = errs.get(key, 0) + 1
        per_server[f"s{s}"] = {"requests": len(cs), "ok": sum(1 for c in cs if c[4] == "ok"),
                               "errors": sum(errs.values()), "error_kinds": errs}
    vc = [c for c in calls if c[3] == victim]
    # Phases by when a call started: before the kill, while down (kill .. answering again), after.
    before = [c for c in vc if c[0] < kill]
    outage = [c for c in vc if kill <= c[0] < back]
    after = [c for c in vc if c[0] >= back]
    out_err = [c for c in outage if c[4] != "ok"]
    named = [c for c in out_err if c[4] == "rpc_error" and f"s{victim}" in c[6]]
    samples: dict[str, str] = {}
    for c in out_err + [c for c in after if c[4] != "ok"]:
        key = c[4] if c[5] is None else f"{c[4]} {c[5]}"
        samples.setdefault(key, c[6])
    # Per session, from the kill on: -32030 answers (a call that started during the outage can
    # meet the restarted backend), other errors after the restart, successes after the restart.
    sess: dict[int, dict] = {}
    for c in outage + after:
        if c[0] < back and not (c[4] == "rpc_error" and c[5] == BACKEND_RESTARTED):
            continue
        d = sess.setdefault(c[2], {"restarted": 0, "other_errors": 0, "ok": 0, "first_ok_t": None, "calls_before_ok": 0})
        if d["first_ok_t"] is None and c[4] != "ok":
            d["calls_before_ok"] += 1
        if c[4] == "ok":
            d["ok"] += 1
            if d["first_ok_t"] is None:
                d["first_ok_t"] = c[1]
        elif c[4] == "rpc_error" and c[5] == BACKEND_RESTARTED:
            d["restarted"] += 1
        else:
            d["other_errors"] += 1
    used_before = {c[2] for c in before if c[4] == "ok"}
    back_ok = {si for si, d in sess.items() if d["ok"]}
    first_ok = sorted(d["first_ok_t"] - back for d in sess.values() if d["first_ok_t"] is not None)
    hist: dict[int, int] = {}
    for d in sess.values():
        hist[d["restarted"]] = hist.get(d["restarted"], 0) + 1
    before_ok: dict[int, int] = {}
    for d in sess.values():
        if d["first_ok_t"] is not None:
            before_ok[d["calls_before_ok"]] = before_ok.get(d["calls_before_ok"], 0) + 1
    for s in servers:
        lat = sorted(c[1] - c[0] for c in calls if c[3] == s)
        if lat:
            q = lambda x: round(lat[min(len(lat) - 1, int(x * len(lat)))] * 1000, 1)  # noqa: E731
            per_server[f"s{s}"]["latency_ms"] = {"p50": q(0.5), "p99": q(0.99), "max": round(lat[-1] * 1000, 1)}
    others = {k: v for k, v in per_server.items() if k != f"s{victim}"}
    return {
        "per_server": per_server,
        "other_servers_errors": sum(v["errors"] for v in others.values()),
        "victim": {
            "server": f"s{victim}",
            "before_kill": {"requests": len(before), "errors": sum(1 for c in before if c[4] != "ok")},
            "outage": {"requests": len(outage), "errors": len(out_err),
                       "errors_jsonrpc_naming_server": len(named),
                       "error_latency_max_s": round(max((c[1] - c[0] for c in out_err), default=0), 3),
                       "error_latency_median_s": round(sorted(c[1] - c[0] for c in out_err)[len(out_err) // 2], 4) if out_err else 0},
            "after_restart": {
                "requests": len(after), "ok": sum(1 for c in after if c[4] == "ok"),
                "restarted_errors_32030": sum(d["restarted"] for d in sess.values()),
                "other_errors": sum(d["other_errors"] for d in sess.values()),
                "sessions_calling_it": len(sess),
                "sessions_succeeded_again": len(back_ok),
                "sessions_succeeded_again_that_used_it_before_kill": len(back_ok & used_before),
                "sessions_used_it_before_kill": len(used_before),
                "sessions_by_32030_count": {str(k): v for k, v in sorted(hist.items())},
"sessions_by_failed_calls_before_first_success": {str(k): v for k, v in sorted(before_ok.items())},
                "sessions_with_more_than_one_32030": sum(1 for d in sess.values() if d["restarted"] > 1),
                "first_success_after_restart_s": {"median": round(first_ok[len(first_ok) // 2], 3) if first_ok else None,
                                                  "max": round(first_ok[-1], 3) if first_ok else None},
            },
            "error_samples": samples,
        },
        "load_sessions": n_sessions,
    }


# ---------------------------------------------------------------------------------------------


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    env = os.environ.get
    p.add_argument("--backends", type=int, default=int(env("BACKENDS", 50)))
    p.add_argument("--sessions", type=int, default=int(env("SESSIONS", 10000)), help="client sessions in part a")
    p.add_argument("--create-conc", type=int, default=int(env("CREATE_CONC", 32)), help="sessions created at a time")
    p.add_argument("--create-budget", type=float, default=600, help="seconds for part a's session creation at most")
    p.add_argument("--load-sessions", type=int, default=int(env("LOAD_SESSIONS", 300)), help="sessions of part a used in part b")
    p.add_argument("--load-servers", type=int, default=int(env("LOAD_SERVERS", 5)), help="servers each part-b session calls (the first is killed)")
    p.add_argument("--load-conc", type=int, default=int(env("LOAD_CONC", 0)),
                   help="HTTP connections of part b's client (default: one per session, so no call waits for a connection)")
    p.add_argument("--pace", type=float, default=float(env("PACE", 1.5)),
                   help="seconds a part-b session waits between its calls (keeps the Python client below saturation, "
                        "so the latencies it measures are the gateway's, not its own queue's)")
    p.add_argument("--duration", type=float, default=float(env("DURATION", 60)))
    p.add_argument("--kill-at", type=float, default=20)
    p.add_argument("--restart-at", type=float, default=30)
    p.add_argument("--call-timeout", type=float, default=10)
    p.add_argument("--envoy-concurrency", type=int, default=int(env("ENVOY_CONCURRENCY", 2)))
    p.add_argument("--out", type=Path, default=RESULTS / "scale.json")
    args = p.parse_args()
    args.load_conc = args.load_conc or args.load_sessions
    if not (0 < args.kill_at < args.restart_at < args.duration):
        sys.exit("need 0 < --kill-at < --restart-at < --duration")
    for f in (lb.BACKEND_BIN, lb.BROKER_BIN, lb.GATEWAY_BIN, lb.WASM):
        if not f.exists():
            sys.exit(f"missing {f}: run `make scalebench` (it builds them)")
    lb.warn_if_stale(lb.GATEWAY_BIN, ["gateway/src", "common/src/gateway.rs", "common/src/config.rs"])
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=lb.ROOT, capture_output=True, text=True).stdout.strip()
    meta = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "commit": git, "machine": lb.machine(),
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "backend_processes": f"one process per backend ({args.backends})"}
    print(f"machine: {meta['machine']}\nload average: {' '.join(loadavg())}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="scalebench-"))
    stack = Stack(work, args.backends, args.envoy_concurrency)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    out: dict = {"meta": meta}
    try:
        stack.start()
        time.sleep(1)
        # ---- a: sessions over N backends
        print(f"a. {args.sessions} sessions over {args.backends} backends (Envoy --concurrency {args.envoy_concurrency})", flush=True)
        la0 = loadavg()
        rss0, cpu0 = stack.rss(), stack.cpu()
        st0 = stack.backend_stats()
        t0 = time.monotonic()
        sids, errors = asyncio.run(create_sessions(stack.url, args.sessions, args.backends, args.create_conc, args.create_budget))
        secs = time.monotonic() - t0
        cpu1 = stack.cpu()
        time.sleep(1)
        rss1, st1 = stack.rss(), stack.backend_stats()
        stack.procs.check()
        made = [s for s in sids if s]
        opened = sum(s["sessions_opened"] for s in st1) - sum(s["sessions_opened"] for s in st0)
        broker_opened = sum(stack.broker_metric("mcpgw_broker_backend_sessions_opened_total").values())
        cpu = cpu_s(cpu0, cpu1)
        a = {"sessions_requested": args.sessions, "sessions_created": len(made), "errors": len(errors),
             "error_samples": errors[:5], "seconds": round(secs, 1), "sessions_per_s": round(len(made) / secs, 1),
             "backend_sessions_opened": opened, "backend_sessions_opened_per_server_min_max":
             [min(s["sessions_opened"] for s in st1), max(s["sessions_opened"] for s in st1)],
             "backend_sessions_live": sum(s["sessions_live"] for s in st1),
             "broker_backend_sessions_opened_total": broker_opened,
             "probe_sessions": opened - broker_opened,
             "backend_sessions_per_client_session": round(opened / max(len(made), 1), 4),
             "rss_before": rss0, "rss_after": rss1,
             "rss_per_session_bytes": {k: round((rss1[k] - rss0[k]) * 1024 / max(len(made), 1)) for k in rss0},
             "cpu_s": cpu, "cpu_us_per_session": {k: round(v * 1e6 / max(len(made), 1)) for k, v in cpu.items()},
             "loadavg_before": la0, "loadavg_after": loadavg()}
        out["a"] = a
        a["backend_sessions_opened_before_a"] = sum(s["sessions_opened"] for s in st0)
        print(f"  {len(made)} sessions in {secs:.1f} s ({len(errors)} errors); backend sessions opened {opened} "
              f"(broker: {broker_opened:.0f}, probes {opened - broker_opened:.0f}) = {a['backend_sessions_per_client_session']} per session", flush=True)
        print(f"  RSS KiB before {rss0} after {rss1}; CPU s {cpu}; load average {' '.join(a['loadavg_after'])}", flush=True)
        # ---- b: restart under load
        if len(made) < args.load_sessions:
            raise RuntimeError(f"only {len(made)} sessions for part b")
        servers = list(range(args.load_servers))
        victim = servers[0]
        # Sessions that used the victim in part a first, then others.
        order = sorted(range(len(sids)), key=lambda i: (i % args.backends != victim, i))
        chosen = [sids[i] for i in order if sids[i]][:args.load_sessions]
        print(f"b. {len(chosen)} sessions x servers {['s%d' % s for s in servers]} for {args.duration:.0f} s; "
              f"s{victim} killed at {args.kill_at:.0f} s, restarted at {args.restart_at:.0f} s", flush=True)
        st_b0 = stack.backend_stats()
        renewed0 = stack.broker_metric("mcpgw_broker_backend_sessions_renewed_total")
        la_b0 = loadavg()
        load = asyncio.run(run_load(stack, chosen, servers, victim, args))
        time.sleep(1)
        stack.procs.check()
        st_b1 = stack.backend_stats()
        renewed1 = stack.broker_metric("mcpgw_broker_backend_sessions_renewed_total")
        b = analyse_load(load["calls"], load["events"], servers, victim, len(chosen))
        b["events"] = load["events"]
        b["requests_total"] = len(load["calls"])
        b["requests_per_s"] = round(len(load["calls"]) / load["events"]["elapsed_s"], 1)
        b["victim"]["backend_sessions_opened_after_restart"] = st_b1[victim]["sessions_opened"]
        b["victim"]["broker_renewed"] = renewed1.get(f"s{victim}", 0) - renewed0.get(f"s{victim}", 0)
        b["backend_sessions_opened_during_b_other_servers"] = sum(
            st_b1[s]["sessions_opened"] - st_b0[s]["sessions_opened"] for s in range(args.backends) if s != victim)
        b["rss_after"] = stack.rss()
        b["loadavg_before"], b["loadavg_after"] = la_b0, loadavg()
        # Per-second timeline of the victim (by start time): ok / errors.
        tl: dict[int, list[int]] = {}
        for c in load["calls"]:
            if c[3] == victim:
                tl.setdefault(int(c[0]), [0, 0])[0 if c[4] == "ok" else 1] += 1
        b["victim_timeline_ok_err_per_s"] = {str(k): v for k, v in sorted(tl.items())}
        out["b"] = b
        v = b["victim"]
        print(f"  {b['requests_total']} calls ({b['requests_per_s']}/s); errors on the other servers: {b['other_servers_errors']}", flush=True)
        for s, d in b["per_server"].items():
            print(f"    {s}: {d['requests']} requests, {d['errors']} errors {d['error_kinds'] or ''} latency ms {d.get('latency_ms')}", flush=True)
        print(f"  s{victim}: outage {v['outage']['errors']}/{v['outage']['requests']} errors "
              f"({v['outage']['errors_jsonrpc_naming_server']} JSON-RPC errors naming it, max {v['outage']['error_latency_max_s']} s); "
              f"after restart: {v['after_restart']}", flush=True)
        print(f"  error samples: {json.dumps(v['error_samples'])[:1500]}", flush=True)
        out["meta"]["loadavg_after"] = loadavg()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(out, indent=1))
        print(f"wrote {args.out}", flush=True)
    except BaseException:
        print(f"logs in {work}", file=sys.stderr)
        raise
    finally:
        stack.procs.stop_all()
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
