"""A backend that records every call its destructive tools get, for the confirmation tests
(tests/e2e/test_governance_confirm.py): the gateway must call them only after the human
accepted.

    python confirm_backend.py NAME PORT [--stateless]

- tool `wipe(target)`   -> "<NAME> wiped <target>"; annotated destructiveHint: true
- tool `touch(target)`  -> "<NAME> touched <target>"; no annotations (the spec's default says
                           destructive, the gateway does not ask unless configured)
- tool `record()`       -> JSON list of "<tool>:<target>" for every wipe and touch that ran
"""

from __future__ import annotations

import json
import sys

from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import ToolAnnotations

RAN: list[str] = []


def build(name: str) -> MCPServer:
    server = MCPServer(name=f"confirm-{name}")

    @server.tool(description="Delete everything in target.", annotations=ToolAnnotations(destructiveHint=True))
    def wipe(target: str) -> str:
        RAN.append(f"wipe:{target}")
        return f"{name} wiped {target}"

    @server.tool(description="Touch target (no annotations).")
    def touch(target: str) -> str:
        RAN.append(f"touch:{target}")
        return f"{name} touched {target}"

    @server.tool(description="What ran so far.", annotations=ToolAnnotations(readOnlyHint=True, destructiveHint=False))
    def record() -> str:
        return json.dumps(RAN)

    return server


def main(argv: list[str]) -> None:
    name, port = argv[1], int(argv[2])
    build(name).run(
        transport="streamable-http",
        host="127.0.0.1",
        port=port,
        stateless_http="--stateless" in argv[3:],
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )


if __name__ == "__main__":
    main(sys.argv)
