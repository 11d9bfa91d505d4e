"""The official MCP conformance suite against each backend (conftest.py: `fixture` on the Python
SDK 2.3, the legacy `python-sdk-1.x` and `ts-sdk-1.29`), directly and through the gateway (the
backend as the gateway's pass-through server), for both spec versions, through each filter build
(native, wasm; MCPGW_FILTERS=native or wasm for one). The direct run is made once per backend
and version and shared by both builds.

Asserts, per backend and version (known_gaps.yaml holds the lists, keyed by backend then version):
  - every scenario that passes directly passes through the gateway, unless `known_gaps` lists it
    with a reason;
  - where `gateway_must_pass` names the (backend, version), every scenario the version scores
    passes through the gateway, even one that fails directly (a legacy backend the gateway is
    to lift to the spec), unless `known_gaps` lists it;
  - a `known_gaps` entry that passes through the gateway is an error too (stale: remove it), so
    the lists only shrink;
  - the `fixture` backend passes, directly, every scenario but the extension ones it does not
    implement, else the fixture itself is wrong.
The per-scenario table (direct vs gateway, first failing check) is printed with `-s` and on
failure; the per-backend scores at the end of every run. Results (checks.json per scenario,
runner.log) and the backend's and gateway's logs stay in pytest's temp dir. One backend only:
`pytest tests/conformance -k ts-sdk-1.29` (or `-k fixture`, `-k python-sdk-1.x`; add
`-k "ts-sdk-1.29 and native"` or MCPGW_FILTERS=native for one build).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import suite

VERSIONS = ["2025-11-25", "2026-07-28"]
LISTS = yaml.safe_load((Path(__file__).parent / "known_gaps.yaml").read_text()) or {}
KNOWN_GAPS: dict[str, dict[str, dict[str, str]]] = LISTS.get("known_gaps") or {}
GATEWAY_MUST_PASS: dict[str, dict[str, str]] = LISTS.get("gateway_must_pass") or {}
# Optional extension scenarios the fixture does not implement (the suite never scores them).
NOT_IMPLEMENTED_BY_FIXTURE = ("tasks-",)


def fixture_should_pass(name: str) -> bool:
    return not name.startswith(NOT_IMPLEMENTED_BY_FIXTURE)


def test_lists_name_known_backends_and_versions(backend_names: list[str]) -> None:
    """A typo in known_gaps.yaml must not silently disable an entry."""
    for section, lists in (("known_gaps", KNOWN_GAPS), ("gateway_must_pass", GATEWAY_MUST_PASS)):
        for backend, per_version in lists.items():
            assert backend in backend_names, f"{section}: unknown backend {backend!r}"
            assert set(per_version or {}) <= set(VERSIONS), f"{section}.{backend}: unknown version in {list(per_version)}"
    for backend, per_version in GATEWAY_MUST_PASS.items():
        for version, what in per_version.items():
            assert what == "scored", f"gateway_must_pass.{backend}.{version}: only 'scored' is understood, got {what!r}"


@pytest.mark.parametrize("version", VERSIONS)
def test_conformance_through_gateway(version: str, stack, tmp_path_factory) -> None:
    backend, host = stack.backend.name, stack.host
    out = tmp_path_factory.mktemp(f"conformance-{backend}-{host}-{version}")
    # The direct run does not depend on the filter build: once per (backend, version).
    direct = suite.DIRECT.get((backend, version))
    if direct is None:
        direct = suite.DIRECT[(backend, version)] = suite.run_suite(stack.backend.url, version, out / "direct")
    through = suite.run_suite(stack.gateway.url, version, out / "gateway")
    suite.RESULTS[(backend, host, version)] = (direct, through)
    report = suite.table(direct, through)
    print(f"\n--- conformance {backend} through the {host} filter, {version} (results in {out}; direct run in {direct.out})\n{report}")

    def passes(run: suite.Run, name: str) -> bool:
        s = run.scenarios.get(name)
        return bool(s and s.ok)

    gaps: dict[str, str] = (KNOWN_GAPS.get(backend) or {}).get(version) or {}
    must_pass = (GATEWAY_MUST_PASS.get(backend) or {}).get(version) == "scored"
    problems = []
    if backend == "fixture":
        broken = [n for n, s in direct.scenarios.items() if fixture_should_pass(n) and not s.ok]
        if broken:
            problems.append(f"the fixture fails directly: {broken}")
    regressions = [n for n in direct.scenarios if passes(direct, n) and not passes(through, n) and n not in gaps]
    if regressions:
        problems.append(f"pass directly, fail through the gateway (not in known_gaps): {regressions}")
    if must_pass:
        short = [n for n in suite.scored(version) if not passes(through, n) and n not in gaps and n not in regressions]
        if short:
            problems.append(f"scored, must pass through the gateway (gateway_must_pass), fail (not in known_gaps): {short}")
    stale = [n for n in gaps if passes(through, n)]
    if stale:
        problems.append(f"listed in known_gaps but pass through the gateway now (remove them): {stale}")
    assert not problems, "\n".join(problems) + f"\n\n{report}\n\ngateway logs: {stack.gateway.workdir}"
