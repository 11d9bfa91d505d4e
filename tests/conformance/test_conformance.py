"""The official MCP conformance suite, against the fixture backend directly and through the
gateway (the fixture as the gateway's pass-through server), for both spec versions.

Asserts: every scenario that passes directly passes through the gateway, except those listed in
known_gaps.yaml with a reason; a listed scenario that now passes is an error too (stale entry).
The direct run must pass every scenario the suite scores, else the fixture itself is wrong.
On failure the per-scenario table (direct vs gateway, first failing check) is printed.
Results (checks.json per scenario, runner.log) stay in pytest's temp dir.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import suite

VERSIONS = ["2025-11-25", "2026-07-28"]
GAPS = yaml.safe_load((Path(__file__).parent / "known_gaps.yaml").read_text()) or {}
# Optional extension scenarios the fixture does not implement (the suite never scores them).
NOT_IMPLEMENTED_BY_FIXTURE = ("tasks-",)


def fixture_should_pass(name: str) -> bool:
    return not name.startswith(NOT_IMPLEMENTED_BY_FIXTURE)




@pytest.mark.parametrize("version", VERSIONS)
def test_conformance_through_gateway(version: str, fixture_backend, gateway, tmp_path_factory) -> None:
    out = tmp_path_factory.mktemp(f"conformance-{version}")
    direct = suite.run_suite(fixture_backend.url, version, out / "direct")
    through = suite.run_suite(gateway.url, version, out / "gateway")
    report = suite.table(direct, through)
    print(f"\n--- conformance {version} (results in {out})\n{report}")

    gaps: dict[str, str] = GAPS.get(version) or {}
    fixture_broken = [n for n, s in direct.scenarios.items() if fixture_should_pass(n) and not s.ok]
    regressions = [
        n for n, s in direct.scenarios.items() if s.ok and not (through.scenarios.get(n) and through.scenarios[n].ok) and n not in gaps
    ]
    stale = [n for n in gaps if through.scenarios.get(n) and through.scenarios[n].ok]
    problems = []
    if fixture_broken:
        problems.append(f"the fixture fails directly: {fixture_broken}")
    if regressions:
        problems.append(f"pass directly, fail through the gateway (not in known_gaps.yaml): {regressions}")
    if stale:
        problems.append(f"listed in known_gaps.yaml but pass now (remove them): {stale}")
    assert not problems, "\n".join(problems) + f"\n\n{report}\n\ngateway logs: {gateway.workdir}"
