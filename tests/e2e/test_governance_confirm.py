"""Confirmation before dangerous tools (issue 16, item 5), through the real Envoy and filter
(each build), the real broker, and the official Python SDK client answering the gateway's own
question: a tool the config marks runs only after an accepted elicitation; every other answer,
and a client that cannot be asked, gets a JSON-RPC error and the backend never sees the call.

alpha (session protocol) confirms `wipe` by config; beta (serves 2026-07-28 itself) has no
confirm rule but `confirmation.destructive_hint` is on, so its `wipe` (destructiveHint: true)
is asked and its unannotated `touch` is not. The backends record what ran (`record`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest
from mcp import Client, types
from mcp.shared.exceptions import MCPError

from conftest import Gateway, Proc, stop_all
from custom_gateway import Backend, py_backend, start_custom_gateway

HERE = Path(__file__).parent


def backend(name: str, stateless: bool, **config) -> Backend:
    return py_backend(name, stateless, script=HERE / "confirm_backend.py", **config)


@pytest.fixture(scope="module")
def gateway(filter_host: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    procs: list[Proc] = []
    try:
        yield start_custom_gateway(
            tmp_path_factory.mktemp(f"confirm-{filter_host}"),
            procs,
            [backend("alpha", False, tools={"confirm": ["wipe"]}), backend("beta", True)],
            confirmation={"destructive_hint": True, "timeout_ms": 60000},
        )
    finally:
        stop_all(procs)


def answering(action: str, asked: list[str]):
    async def callback(context, params: types.ElicitRequestParams) -> types.ElicitResult:  # noqa: ANN001, ARG001
        asked.append(params.message)
        return types.ElicitResult(action=action, content={} if action == "accept" else None)

    return callback


async def ran(client: Client, server: str) -> list[str]:
    return json.loads((await client.call_tool(f"{server}_record", {})).content[0].text)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_an_accepted_confirmation_runs_the_tool_once(gateway: Gateway, mode: str) -> None:
    asked: list[str] = []
    async with Client(gateway.url, mode=mode, elicitation_callback=answering("accept", asked)) as client:
        for server in ("alpha", "beta"):
            target = f"ok-{mode}-{server}"
            result = await client.call_tool(f"{server}_wipe", {"target": target})
            assert result.content[0].text == f"{server} wiped {target}", result
            assert (await ran(client, server)).count(f"wipe:{target}") == 1
        # The question named the server, the tool and the arguments.
        assert len(asked) == 2, asked
        for server, message in zip(("alpha", "beta"), asked):
            assert f'"{server}"' in message and f'"{server}_wipe"' in message and f"ok-{mode}-{server}" in message, message
        # Not asked: an unannotated tool (the spec's default says destructive, the config does not).
        assert (await client.call_tool("beta_touch", {"target": f"t-{mode}"})).content[0].text == f"beta touched t-{mode}"
        assert len(asked) == 2


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
@pytest.mark.parametrize("action", ["decline", "cancel"])
async def test_a_declined_or_cancelled_confirmation_is_an_error_and_never_a_backend_call(gateway: Gateway, mode: str, action: str) -> None:
    asked: list[str] = []
    async with Client(gateway.url, mode=mode, elicitation_callback=answering(action, asked)) as client:
        for server in ("alpha", "beta"):
            target = f"{action}-{mode}-{server}"
            with pytest.raises(MCPError) as refused:
                await client.call_tool(f"{server}_wipe", {"target": target})
            assert refused.value.error.code == -32031, refused.value.error
            assert refused.value.error.data == {"confirmation": action, "tool": f"{server}_wipe"}
            assert f"wipe:{target}" not in await ran(client, server)
        assert len(asked) == 2


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_a_client_without_elicitation_is_refused(gateway: Gateway, mode: str) -> None:
    async with Client(gateway.url, mode=mode) as client:
        for server in ("alpha", "beta"):
            target = f"unasked-{mode}-{server}"
            with pytest.raises(MCPError) as refused:
                await client.call_tool(f"{server}_wipe", {"target": target})
            assert refused.value.error.code == -32021, refused.value.error
            assert f"wipe:{target}" not in await ran(client, server)


def test_confirmations_are_counted(gateway: Gateway) -> None:
    import httpx

    metrics = httpx.get(f"http://127.0.0.1:{gateway.ports['broker']}/metrics", timeout=5)
    if metrics.status_code != 200:
        pytest.skip(f"broker /metrics answered {metrics.status_code}")
    assert 'mcpgw_broker_confirmations_total{outcome="asked"}' in metrics.text, metrics.text[:2000]
