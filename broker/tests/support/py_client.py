"""The official Python SDK client (mcp 2.3.0) against the gateway: connects in `auto` mode
(server/discover at 2026-07-28 first, initialize as the fallback), lists tools, calls one,
and prints what it saw as JSON."""

import asyncio
import json
import sys

from mcp import Client


async def main(url: str, tool: str, args: str) -> None:
    async with Client(url, mode="auto") as client:
        tools = await client.list_tools()
        result = await client.call_tool(tool, json.loads(args))
        print(json.dumps({
            "version": client.protocol_version,
            "tools": sorted(t.name for t in tools.tools),
            "text": result.content[0].text,
            "is_error": bool(result.is_error),
        }))


asyncio.run(main(*sys.argv[1:]))
