#!/usr/bin/env python3
"""Where does our filter's time go? Envoy CPU per tools/call for variants of configuration (d),
next to plain Envoy (b), measured like benches/loadbench.py (same stack, h2load, /proc ticks),
interleaved and repeated. Variants (each its own Envoy, one worker):
  b         plain router
  d         our filter as benchmarked: the Envoy config `mcp-gateway render --filter wasm` makes
            (loadbench's (d)), filter state at the product default (on)
  e, f      loadbench's (e) (the same config, native build) and (f) (b + the native module's
            body_floor filter): optional, e.g. --variants b,d,e,f
  d-nofs    the same with `filter_state: false` (no set_property host calls)
  d-nometa  the same with no metadata at all: `filter_state: false`, `metadata_headers: []`
            (what routing alone costs; the x-mcp-* headers are 4 request-header writes)
  d-idle    our filter loaded, but /mcp is not one of its mcp_paths: it only reads the headers
            once and strips x-mcp-* (the fixed cost of a wasm filter on the path)
  --alt N=P  the wasm filter built at P (another commit, a probe build), same config: before/after
            comparisons of a change, side by side in one run
The d-* variants and --alt are of the wasm build (d).
Run with backends in session mode (SSE answers, which the filter rewrites) and in stateless
mode (JSON answers). Usage: .venv/bin/python benches/ablate.py [--rounds 3] [--duration 4]
  [--variants b,d] [--modes sse] [--alt d-old=/tmp/old.wasm]
Prints a Markdown table; benches/README.md quotes it.
"""
import argparse, base64, http.client, json, secrets, shutil, statistics, sys, tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import loadbench as lb  # noqa: E402

VARIANTS = ["b", "d", "d-nofs", "d-nometa", "d-idle"]
# Other builds of the filter, same config (--alt NAME=PATH): before/after in one run.
ALTS: dict[str, str] = {}


# Variants loadbench's own stack runs (lb.start_stack starts an Envoy for each).
STACK = set(lb.ENVOYS)


def variant_configs(key: str, variants: list[str]) -> dict:
    extra = [v for v in variants if v not in STACK]
    for i, v in enumerate(extra):
        # Past loadbench's own ports (18001-18005, 18901-18905).
        lb.PORTS[v], lb.ADMIN[v] = 18010 + i, 18910 + i
    out = {}
    for v in extra:
        cfg = lb.envoy_ours(key, "d")
        cfg["admin"]["address"]["socket_address"]["port_value"] = lb.ADMIN[v]
        lst = cfg["static_resources"]["listeners"][0]
        lst["address"]["socket_address"]["port_value"] = lb.PORTS[v]
        hcm = lb.hcm_of(cfg)
        # The filter's configuration as `mcp-gateway render` wrote it for (d).
        fc = lb.filter_config_of(cfg)
        if v in ALTS:
            vm = lb.wasm_filter(cfg)["vm_config"]
            vm["code"]["local"]["filename"] = ALTS[v]
            vm["vm_id"] = f"mcp_gateway_{v}"
        elif v == "d-nofs":
            fc["filter_state"] = False
        elif v == "d-nometa":
            fc["filter_state"] = False
            fc["metadata_headers"] = []
        else:
            fc["mcp_paths"] = ["/not-this-one"]
            # Everything else (the rendered catch-all virtual host) goes to backend s0, as in (b).
            default = next(vh for vh in hcm["route_config"]["virtual_hosts"] if vh["name"] == "default")
            default["routes"] = [{"match": {"prefix": "/"}, "route": {"cluster": "s0", "timeout": "0s"}}]
        lb.set_filter_config(cfg, fc)
        out[v] = cfg
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=4)
    ap.add_argument("--conc", type=int, default=16)
    ap.add_argument("--variants", default=",".join(VARIANTS), help=f"a subset of {VARIANTS}, plus --alt names")
    ap.add_argument("--alt", action="append", default=[], metavar="NAME=PATH",
                    help="also run the filter built at PATH (a .wasm) as variant NAME, e.g. d-old=/tmp/old.wasm")
    ap.add_argument("--modes", default="sse,json", help="backend answers: sse (session), json (stateless)")
    a = ap.parse_args()
    ALTS.update(x.split("=", 1) for x in a.alt)
    variants = a.variants.split(",") + [n for n in ALTS if n not in a.variants.split(",")]
    modes = [m == "json" for m in a.modes.split(",")]
    lb.ARGS = argparse.Namespace(envoy_concurrency=1)
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    work = Path(tempfile.mkdtemp(prefix="ablate-"))
    procs = lb.Procs(work)
    table = []
    try:
        for stateless in modes:
            lb.start_stack(procs, work, key, stateless=stateless)
            for v, cfg in variant_configs(key, variants).items():
                p = work / f"envoy-{v}.json"
                p.write_text(json.dumps(cfg))
                procs.start(f"envoy-{v}", [lb.envoy_bin(), "-c", str(p), "--concurrency", "1", "--disable-hot-restart", "-l", "warning"], {lb.KEY_ENV: key})
                lb.wait_port(lb.ADMIN[v], path="/ready")
            res = {v: [] for v in variants}
            bodies, heads = {}, {}
            for v in variants:
                tool_cfg = "b" if v in ("b", "d-idle", "f") else "d"
                port = lb.PORTS[v]
                h = dict(lb.BASE_HEADERS)
                if not (stateless and tool_cfg == "b"):
                    # session: from the backend itself for b/d-idle, from the broker for d*
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    st, hh, msg = lb.post(conn, lb.init_body())
                    sid = hh.get("mcp-session-id")
                    if sid:
                        lb.post(conn, lb.rpc_body("notifications/initialized", id_=None), sid)
                        h.update({"mcp-session-id": sid, "mcp-protocol-version": lb.PROTOCOL})
                body = work / f"{v}.json"
                body.write_bytes(lb.call_body(tool_cfg, "hello"))
                bodies[v], heads[v] = body, h
            for r in range(a.rounds):
                for v in variants[r % len(variants):] + variants[:r % len(variants)]:
                    pid = procs.pid(f"envoy-{v}")
                    t0 = lb.cpu_ticks(pid)
                    x = lb.h2load(lb.PORTS[v], bodies[v], heads[v], a.conc, a.duration, 0.5, work / "log")
                    cpu = (lb.cpu_ticks(pid) - t0) / lb.TICK * 1e6 / x["done"]
                    if x["errors"]:
                        raise RuntimeError(f"{v}: {x['errors']} errors")
                    res[v].append((x["rps"], cpu, x.get("p50", 0)))
                    print(f"  {'json' if stateless else 'sse '} r{r} {v:7s} {x['rps']:7.0f} req/s  Envoy CPU {cpu:5.0f} us/req  p50 {x.get('p50', 0)} us", flush=True)
            for v in variants:
                med = lambda i: statistics.median(t[i] for t in res[v])  # noqa: E731
                table.append(("JSON (stateless)" if stateless else "SSE (session)", v, med(0), med(1), med(2)))
            procs.stop_all()
    except BaseException:
        print(f"logs kept in {work}", file=sys.stderr)
        raise
    else:
        shutil.rmtree(work, ignore_errors=True)
    finally:
        procs.stop_all()
    print("\n| backend answers | variant | req/s | Envoy CPU µs/req | Δ CPU vs b | p50 µs |\n|---|---|---:|---:|---:|---:|")
    for mode, v, rps, cpu, p50 in table:
        base = next(c for m, vv, _, c, _ in table if m == mode and vv == "b")
        print(f"| {mode} | {v} | {rps:.0f} | {cpu:.0f} | {cpu - base:+.0f} | {p50:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
