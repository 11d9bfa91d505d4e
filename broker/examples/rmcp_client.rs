//! The official Rust MCP client (rmcp, the broker's pinned version and features) as a peer for the
//! end-to-end tests (tests/e2e/test_clients.py):
//!
//!     cargo run -p mcpgw-broker --example rmcp_client -- URL TOOL=TEXT [TOOL=TEXT ...]
//!
//! Connects to URL over streamable HTTP, lists all tools, calls each TOOL with {"text": TEXT},
//! and prints one JSON object: {"tools": [names], "calls": {TOOL: first text content}}.

use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use serde_json::json;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let url = args.next().expect("usage: rmcp_client URL TOOL=TEXT ...");
    let client = ().serve(StreamableHttpClientTransport::from_uri(url)).await.expect("connect");
    let tools: Vec<String> = client.list_all_tools().await.expect("tools/list").into_iter().map(|t| t.name.to_string()).collect();
    let mut calls = serde_json::Map::new();
    for spec in args {
        let (tool, text) = spec.split_once('=').expect("TOOL=TEXT");
        let arguments = json!({ "text": text }).as_object().cloned().unwrap();
        let result = client.call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(arguments)).await.expect("tools/call");
        let content = serde_json::to_value(&result.content).unwrap();
        calls.insert(tool.to_string(), content[0]["text"].clone());
    }
    println!("{}", json!({ "tools": tools, "calls": calls }));
    client.cancel().await.ok();
}
