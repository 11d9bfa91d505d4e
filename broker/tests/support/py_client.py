"""The official Python SDK client (mcp 2.3.0) against the gateway: connects in `auto` mode
(server/discover at 2026-07-28 first, initialize as the fallback), lists tools, calls one,
and prints what it saw as JSON. With MCPGW_BROKER_AUTH set, every request carries it as
`x-mcp-gateway-auth` (the broker credential Envoy's broker route adds)."""

import asyncio
import json
import os
import sys

from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


async def main(url: str, tool: str, args: str) -> None:
    auth = os.environ.get("MCPGW_BROKER_AUTH")
    server = url
    if auth:
        server = streamable_http_client(url, http_client=create_mcp_http_client(headers={"x-mcp-gateway-auth": auth}))
    async with Client(server, mode="auto") as client:
        tools = await client.list_tools()
        result = await client.call_tool(tool, json.loads(args))
        print(json.dumps({
            "version": client.protocol_version,
            "tools": sorted(t.name for t in tools.tools),
            "text": result.content[0].text,
            "is_error": bool(result.is_error),
        }))


asyncio.run(main(*sys.argv[1:]))
