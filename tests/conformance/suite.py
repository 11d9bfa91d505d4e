"""Running `@modelcontextprotocol/conformance` and reading its results.

The suite (npm, pinned in tests/node/package.json) is a Node program; on Node 20 it needs
node_compat.mjs (fs.globSync). Each scenario writes `<out>/server-<scenario>-<time>/checks.json`,
a list of checks with `status` SUCCESS, FAILURE, WARNING, INFO or SKIPPED. A scenario passes
when none of its checks is a FAILURE. The scenarios a version scores are the `server:` list of
the suite's requirements/<version>.yaml (the rest run as `not_scored`).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = ROOT / "tests" / "node"
SUITE_DIR = NODE_DIR / "node_modules" / "@modelcontextprotocol" / "conformance"
SUITE_JS = SUITE_DIR / "dist" / "index.js"
COMPAT = Path(__file__).resolve().parent / "node_compat.mjs"

# Bounds: one scenario, one whole run (a run takes ~10-20 s on a quiet machine).
SCENARIO_TIMEOUT_MS = 30_000
RUN_TIMEOUT_S = 420

RESULT_DIR = re.compile(r"^server-(?P<scenario>.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$")


@dataclass
class Scenario:
    name: str
    passed: int = 0
    failed: int = 0
    warnings: int = 0
    failures: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed == 0


@dataclass
class Run:
    version: str
    url: str
    out: Path
    scenarios: dict[str, Scenario]
    log: str


# (backend, filter build, version) -> (direct run, gateway run), filled by the tests, summarised
# at the end.
RESULTS: dict[tuple[str, str, str], tuple[Run, Run]] = {}
# (backend, version) -> the direct run: it does not depend on the filter build, so the first
# gateway run of a (backend, version) makes it and the others reuse it.
DIRECT: dict[tuple[str, str], Run] = {}


def node() -> str:
    return os.environ.get("MCPGW_NODE", "node")


def run_suite(url: str, version: str, out: Path) -> Run:
    """Runs every server scenario `--requirements VERSION` selects (the scored ones and the
    not-scored ones) against `url`; results and the runner's output go to `out`."""
    if not SUITE_JS.is_file():
        raise RuntimeError(f"conformance suite missing at {SUITE_JS}: run scripts/setup.sh (npm ci in tests/node)")
    out.mkdir(parents=True, exist_ok=True)
    argv = [
        node(), "--import", str(COMPAT), str(SUITE_JS), "server",
        "--url", url, "--requirements", version,
        "--timeout", str(SCENARIO_TIMEOUT_MS), "-o", str(out),
    ]
    p = subprocess.run(argv, cwd=NODE_DIR, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, stdin=subprocess.DEVNULL)
    log = p.stdout + p.stderr
    (out / "runner.log").write_text(log)
    scenarios = read_results(out)
    if not scenarios:
        raise RuntimeError(f"conformance run against {url} produced no results (exit {p.returncode}):\n{log[-4000:]}")
    return Run(version, url, out, scenarios, log)


def read_results(out: Path) -> dict[str, Scenario]:
    found: dict[str, Scenario] = {}
    for d in sorted(out.iterdir()):
        m = RESULT_DIR.match(d.name)
        if not m or not d.is_dir():
            continue
        s = Scenario(m["scenario"])
        checks_file = d / "checks.json"
        try:
            checks = json.loads(checks_file.read_text())
        except (OSError, ValueError) as e:
            s.failed = 1
            s.failures.append({"id": "(checks.json)", "errorMessage": f"unreadable: {e}"})
            checks = []
        for c in checks:
            st = c.get("status")
            if st == "SUCCESS":
                s.passed += 1
            elif st == "FAILURE":
                s.failed += 1
                s.failures.append(c)
            elif st == "WARNING":
                s.warnings += 1
        found[s.name] = s
    return found


def first_failure(s: Scenario | None) -> str:
    if s is None:
        return "not run"
    if not s.failures:
        return ""
    c = s.failures[0]
    msg = c.get("errorMessage") or c.get("description") or ""
    return f"{c.get('id')}: {msg}"[:160]


def scored(version: str) -> list[str]:
    """The server scenarios `version` scores, from the installed suite's requirements file."""
    doc = yaml.safe_load((SUITE_DIR / "requirements" / f"{version}.yaml").read_text())
    return list(doc.get("server") or [])


def score(run: Run, names: list[str]) -> str:
    ok = sum(1 for n in names if run.scenarios.get(n) and run.scenarios[n].ok)
    return f"{ok}/{len(names)}"


def table(direct: Run, gateway: Run) -> str:
    names = sorted(set(direct.scenarios) | set(gateway.scenarios))
    counted = set(scored(direct.version))
    rows = [f"{'scenario (* scored)':<48} {'direct':>12} {'gateway':>12}  first gateway failure", "-" * 112]

    def cell(s: Scenario | None) -> str:
        if s is None:
            return "-"
        return ("pass" if s.ok else "FAIL") + f" {s.passed}/{s.passed + s.failed}"

    for n in names:
        d, g = direct.scenarios.get(n), gateway.scenarios.get(n)
        note = first_failure(g) if (g is None or not g.ok) else ""
        rows.append(f"{n + (' *' if n in counted else ''):<48} {cell(d):>12} {cell(g):>12}  {note}")
    rows.append("-" * 112)
    rows.append(f"{'scored scenarios passing':<48} {score(direct, list(counted)):>12} {score(gateway, list(counted)):>12}")
    rows.append(f"{'all scenarios passing':<48} {score(direct, names):>12} {score(gateway, names):>12}")
    return "\n".join(rows)


def summary(results: dict[tuple[str, str, str], tuple[Run, Run]]) -> str:
    """One line per (backend, filter build, version): scenarios passing, scored and all,
    direct and through the gateway."""
    rows = [f"{'backend':<16} {'filter':<7} {'version':<12} {'direct scored':>14} {'gateway scored':>15} {'direct all':>11} {'gateway all':>12}"]
    for (backend, host, version), (direct, gateway) in sorted(results.items()):
        counted = scored(version)
        names = sorted(set(direct.scenarios) | set(gateway.scenarios))
        rows.append(
            f"{backend:<16} {host:<7} {version:<12} {score(direct, counted):>14} {score(gateway, counted):>15}"
            f" {score(direct, names):>11} {score(gateway, names):>12}"
        )
    return "\n".join(rows)
