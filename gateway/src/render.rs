//! The one source of the gateway's Envoy configuration: from a checked gateway config to the
//! listener (the MCP filter, native or wasm, + routes), the clusters, and the bootstrap around them, either
//! static (one self-contained file, for people who run their own Envoy) or dynamic (a
//! bootstrap whose LDS and CDS come from files, which `mcp-gateway up` rewrites atomically
//! when the gateway config changes: Envoy applies them without a restart).
//!
//! The choices behind the shape are explained in envoy-configs/README.md: V8,
//! `allow_on_headers_stop_iteration`, `FAIL_CLOSED`, buffer limit = `max_body_bytes` + 256 KiB,
//! MCP routes with `timeout: 0s` + `idle_timeout`, `host_rewrite_literal`, internal virtual
//! hosts that match only the MCP path.

use std::path::{Path, PathBuf};

use mcpgw_common::gateway::{
    credential_env, parse_url, server_authority, CheckedConfig, HostPort, BROKER_AUTHORITY, BROKER_ROUTE, ROUTE_FILTER_STATE,
};
use mcpgw_common::jsonrpc::{INTERNAL_ERROR, INVALID_REQUEST, RATE_LIMITED, REQUEST_TOO_LARGE};
use mcpgw_common::tool_hints::LearnedHints;
use serde_json::{json, Value};

/// Envoy refuses (413, plain text) buffered bodies over the listener's buffer limit; it sits
/// this far above the filter's `max_body_bytes` so the filter's JSON-RPC 413 fires first.
pub const BUFFER_SLACK: usize = 256 * 1024;
pub const LISTENER_NAME: &str = "mcp_gateway";
pub const BROKER_CLUSTER: &str = "broker";
pub const DEFAULT_CLUSTER: &str = "default_upstream";
pub const ROUTE_CONFIG_NAME: &str = "mcp_routes";
/// The MCP filter's name in the chain: also its ECDS resource name, and the `filter_name` the
/// native module serves.
pub const FILTER_NAME: &str = "mcp_gateway";
/// The native module's name: Envoy opens `lib<name>.so` from `$ENVOY_DYNAMIC_MODULES_SEARCH_PATH`.
pub const NATIVE_MODULE: &str = "mcpgw_native";
/// The variable Envoy reads the native module's folder from.
pub const MODULE_SEARCH_PATH_ENV: &str = "ENVOY_DYNAMIC_MODULES_SEARCH_PATH";
const LISTENER_TYPE: &str = "type.googleapis.com/envoy.config.listener.v3.Listener";
const CLUSTER_TYPE: &str = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
const ROUTE_CONFIG_TYPE: &str = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
const EXTENSION_CONFIG_TYPE: &str = "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig";
const WASM_TYPE: &str = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm";
const DYNAMIC_MODULE_TYPE: &str = "type.googleapis.com/envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter";

/// Which build of the filter Envoy loads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Module {
    /// The proxy-wasm build: the `.wasm` file, as Envoy will open it.
    Wasm(String),
    /// The native dynamic module `lib`[`NATIVE_MODULE`]`.so`, which Envoy finds in the folder
    /// `$ENVOY_DYNAMIC_MODULES_SEARCH_PATH` names (then `./`, then the `dlopen` search path).
    Native,
}

/// What the gateway config does not say (where things are on this machine).
#[derive(Debug, Clone)]
pub struct Options {
    /// The filter build Envoy loads.
    pub module: Module,
    /// Envoy's admin interface, `host:port`.
    pub admin: String,
    /// Access log file (JSON lines); `None` for no access log.
    pub access_log: Option<String>,
    /// HTTP filters (Envoy `HttpFilter` objects) placed after the wasm filter, before the router.
    pub extra_http_filters: Vec<Value>,
    /// Where non-MCP paths go (`host:port`). Without it they get a 404 from Envoy, except the
    /// RFC 9728 metadata paths, which the broker serves.
    pub default_upstream: Option<String>,
    /// The least idle timeout of the broker's route (GET notification streams; the broker
    /// sends keep-alive comments every 15 s). It is raised above every server's
    /// `idle_timeout_ms`, so that on calls the broker relays, the broker's own bound on silence
    /// fires first and ends the call with a JSON-RPC error in the stream.
    pub broker_idle_timeout_ms: u64,
    /// CA bundle for https backends.
    pub ca_bundle: String,
    /// How long a client may take to send its request headers.
    pub request_headers_timeout: String,
    /// How long a client may take to send its whole request (headers and body). Disarmed once
    /// the request is complete, so it never cuts a long response (SSE, long tool calls).
    pub request_timeout: String,
    /// The tool hints the broker learnt from the backends' lists (`mcp-gateway up` keeps them
    /// current), written into the filter's configuration (`mcpgw_common::tool_hints`).
    pub tool_hints: LearnedHints,
    /// How long a stream may stay silent before Envoy has routed it (a client that stops in
    /// the middle of its body); routed MCP streams use their route's `idle_timeout` instead.
    pub stream_idle_timeout: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            module: Module::Native,
            admin: "127.0.0.1:9901".into(),
            access_log: Some("/dev/stdout".into()),
            extra_http_filters: Vec::new(),
            default_upstream: None,
            broker_idle_timeout_ms: 300_000,
            ca_bundle: "/etc/ssl/certs/ca-certificates.crt".into(),
            request_headers_timeout: "10s".into(),
            request_timeout: "60s".into(),
            tool_hints: LearnedHints::new(),
            stream_idle_timeout: "60s".into(),
        }
    }
}

/// The listener and clusters for one gateway config.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub listener: Value,
    pub clusters: Vec<Value>,
    pub admin: Value,
    /// The environment variables Envoy's process must have: the session keys (read by the
    /// filter's VM through `host_env_keys`) and the backend credentials (`%ENVIRONMENT(..)%`).
    /// Secrets live there, never in the config Envoy shows on `/config_dump`.
    pub envoy_env: Vec<String>,
}

/// `host:port` → (address for a socket, port).
fn split_host_port(s: &str) -> Result<(String, u16), String> {
    HostPort::parse_with_port(s)
}

/// Where Envoy connects to reach something listening on `host:port`: a wildcard host
/// (`0.0.0.0`, `[::]`) becomes loopback. The address for a socket, the port, and the authority
/// (for `host_rewrite_literal`).
fn connect_to(s: &str) -> Result<(String, u16, String), String> {
    let hp = HostPort::parse(s)?.connecting();
    let port = hp.port.ok_or_else(|| format!("{s:?} is not host:port (no port)"))?;
    let authority = hp.authority();
    Ok((hp.host, port, authority))
}

/// Milliseconds as an Envoy duration.
fn seconds(ms: u64) -> String {
    format!("{}.{:03}s", ms / 1000, ms % 1000)
}

fn socket_address(host: &str, port: u16) -> Value {
    json!({ "socket_address": { "address": host, "port_value": port } })
}

/// Shorter than the keep-alive timeout of common MCP server stacks (5 s), see [`cluster`].
const UPSTREAM_IDLE_TIMEOUT: &str = "4s";

fn cluster(name: &str, host: &str, port: u16, tls: bool, ca_bundle: &str) -> Value {
    let is_ip = host.parse::<std::net::IpAddr>().is_ok();
    let mut c = json!({
        "@type": CLUSTER_TYPE,
        "name": name,
        "type": if is_ip { "STATIC" } else { "STRICT_DNS" },
        "connect_timeout": "2s",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{ "lb_endpoints": [{ "endpoint": { "address": socket_address(host, port) } }] }]
        },
        // Close pooled upstream connections after 4 s idle, before the usual servers do
        // (uvicorn and Node close idle keep-alive connections after 5 s): otherwise Envoy can
        // send a request on a connection the backend is closing at that instant, and the
        // call fails with `upstream_reset_before_response_started{connection_termination}`
        // (seen in the end-to-end tests). A tools/call is not safe to retry, so avoiding
        // the race is the fix, not a retry policy.
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "common_http_protocol_options": { "idle_timeout": UPSTREAM_IDLE_TIMEOUT },
                "explicit_http_config": { "http_protocol_options": {} }
            }
        }
    });
    if tls {
        if let Some(o) = c.as_object_mut() {
            o.insert(
                "transport_socket".into(),
                json!({
                    "name": "envoy.transport_sockets.tls",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
                        "sni": host,
                        "common_tls_context": { "validation_context": {
                            "trusted_ca": { "filename": ca_bundle },
                            "match_typed_subject_alt_names": [{ "san_type": "DNS", "matcher": { "exact": host } }]
                        } }
                    }
                }),
            );
        }
    }
    c
}

/// The MCP filter's `typed_config` for either build; `config` is the filter's JSON
/// (common/src/config.rs), the same for both.
fn filter_typed_config(module: &Module, keys_env: &str, config: String) -> Value {
    let config = json!({ "@type": "type.googleapis.com/google.protobuf.StringValue", "value": config });
    match module {
        Module::Wasm(path) => json!({
            "@type": WASM_TYPE,
            "config": {
                "name": "mcp_gateway",
                "root_id": "mcp_gateway",
                // The filter pauses in on_request_headers to read the body before routing;
                // without this Envoy turns the pause into StopAll and the request stalls.
                "allow_on_headers_stop_iteration": true,
                // A security boundary: if its VM dies, 503 rather than unfiltered traffic.
                "failure_policy": "FAIL_CLOSED",
                "vm_config": {
                    "vm_id": "mcp_gateway",
                    "runtime": "envoy.wasm.runtime.v8",
                    "code": { "local": { "filename": path } },
                    // The session keys reach the VM from Envoy's environment (the plugin
                    // configuration only names the variable): nothing secret on /config_dump.
                    "environment_variables": { "host_env_keys": [keys_env] }
                },
                "configuration": config
            }
        }),
        // The module runs in Envoy's process: it reads the variable the configuration names
        // from Envoy's own environment (nothing secret on /config_dump either). A configuration
        // the module rejects makes Envoy reject the listener: no unfiltered traffic. Kept
        // loaded across configuration updates (`do_not_close`): the sessions this Envoy saw
        // revoked live in the module's memory and must outlive a reload.
        Module::Native => json!({
            "@type": DYNAMIC_MODULE_TYPE,
            "dynamic_module_config": { "name": NATIVE_MODULE, "do_not_close": true },
            "filter_name": FILTER_NAME,
            "filter_config": config
        }),
    }
}

fn status_is(op: &str, status: u32) -> Value {
    json!({ "status_code_filter": { "comparison": { "op": op, "value": { "default_value": status, "runtime_key": format!("mcp_gateway.local_reply_{op}_{status}") } } } })
}

fn jsonrpc_body(id: &str, code: i32, message: &str) -> Value {
    let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"error":{{"code":{code},"message":{message}}}}}"#);
    json!({ "text_format_source": { "inline_string": body }, "content_type": "application/json" })
}

/// Envoy's own replies, as JSON-RPC errors MCP clients can read instead of plain text:
///
/// - When Envoy answers a call the filter routed to a backend (connection refused, reset,
///   idle timeout: any 5xx of its own), the client gets an error for its request id that names
///   the server and a stable reason, nothing more: no addresses, no Envoy failure flags (those
///   are in the access log, `%RESPONSE_CODE_DETAILS%`). The filter's facts say which request
///   it was: `x-mcp-servername` is only on routed calls, filter state holds the server and
///   the raw JSON id.
/// - A policy filter placed after the MCP filter (RBAC, ext_authz: `--http-filters`) that
///   refuses a routed call (403) answers the caller with a JSON-RPC error for its request id,
///   HTTP status kept, without the policy's name (that is in the access log's details).
/// - A body over the buffer limit (a chunked body the filter could not size up front) and a
///   request the client did not finish sending in time get the same shape as the filter's own
///   refusals. The filter's own 413 is rewritten to the same text.
fn local_replies_as_jsonrpc(max_body_bytes: usize) -> Value {
    let id = "%FILTER_STATE(wasm.mcp_gateway.id:PLAIN)%";
    let server = r#"\"%FILTER_STATE(wasm.mcp_gateway.server:PLAIN)%\""#;
    let routed = json!({ "header_filter": { "header": { "name": "x-mcp-servername", "present_match": true } } });
    json!({ "mappers": [
        {
            "filter": { "and_filter": { "filters": [status_is("EQ", 504), routed.clone()] } },
            // 200: a JSON-RPC error is the answer MCP clients surface to the caller.
            "status_code": 200,
            "body_format_override": jsonrpc_body(id, INTERNAL_ERROR, &format!(r#""MCP server {server} did not answer in time""#)),
        },
        {
            "filter": { "and_filter": { "filters": [status_is("GE", 500), routed.clone()] } },
            "status_code": 200,
            "body_format_override": jsonrpc_body(id, INTERNAL_ERROR, &format!(r#""MCP server {server} is unavailable""#)),
        },
        {
            "filter": { "and_filter": { "filters": [status_is("EQ", 403), routed] } },
            "body_format_override": jsonrpc_body(id, INVALID_REQUEST, &format!(r#""Forbidden by the gateway's policy: this call to MCP server {server} is not allowed""#)),
        },
        {
            "filter": status_is("EQ", 413),
            "body_format_override": jsonrpc_body("null", REQUEST_TOO_LARGE, &format!(r#""Request body exceeds the gateway's limit of {max_body_bytes} bytes""#)),
        },
        {
            // A rate limit on a routed call (Envoy's local_ratelimit after the filter, e.g.
            // envoy-configs/ratelimit-tool-caller.yaml): an error for the call's id. The limiter's
            // status (429) and Retry-After header stay, so HTTP-aware clients back off.
            "filter": { "and_filter": { "filters": [status_is("EQ", 429), { "header_filter": { "header": { "name": "x-mcp-method", "present_match": true } } }] } },
            "body_format_override": jsonrpc_body(id, RATE_LIMITED, r#""Rate limited: too many calls; retry after the time in Retry-After""#),
        },
        {
            // jwt_authn's refusal of a missing or invalid token (the filter never answers 401):
            // its WWW-Authenticate header stays.
            "filter": status_is("EQ", 401),
            "body_format_override": jsonrpc_body("null", INVALID_REQUEST, r#""Unauthorized: a valid bearer token is required""#),
        },
        {
            "filter": status_is("EQ", 408),
            "body_format_override": jsonrpc_body("null", INVALID_REQUEST, r#""Request timeout: the request was not received in time""#),
        },
    ] })
}

/// Renders the listener and clusters of a checked config (the loader validated it). Secrets
/// are not resolved here: the output names the environment variables Envoy reads them from
/// ([`Rendered::envoy_env`]).
pub fn render(checked: &CheckedConfig, opts: &Options) -> Result<Rendered, String> {
    let cfg = checked.config();
    if let Some(s) = cfg.servers.iter().find(|s| server_authority(&s.name) == BROKER_AUTHORITY) {
        return Err(format!("server {:?}: the name \"broker\" is reserved (its virtual host is the broker's)", s.name));
    }
    let filter_config = cfg.filter_config_json_with(&opts.tool_hints)?;
    let mut envoy_env = vec![cfg.filter_keys_env()];
    // An internal route matches only what the filter decided for it: the filter writes its
    // decision to filter state (which no client can set) just before it clears the route
    // cache. Whatever skipped the filter's decision — a framing that never reached its body
    // phase, a path it does not handle, an authority the client chose — finds no route (404).
    let decided = |route: &str| json!([{ "key": ROUTE_FILTER_STATE, "string_match": { "exact": route } }]);
    let mcp_match = json!({ "path": cfg.mcp_path, "filter_state": decided(BROKER_ROUTE) });
    let mcp_route = |cluster: &str, host_rewrite: &str, idle_timeout: &str| {
        json!({
            "cluster": cluster,
            "host_rewrite_literal": host_rewrite,
            // No overall timeout: long tool calls and SSE streams; idle_timeout bounds silence.
            "timeout": "0s",
            "idle_timeout": idle_timeout,
        })
    };

    let mut vhosts = Vec::new();
    let mut clusters = Vec::new();
    for s in cfg.enabled_servers() {
        let u = parse_url(&s.url).map_err(|e| format!("server {:?}: {e}", s.name))?;
        let host = u.host.trim_start_matches('[').trim_end_matches(']').to_string();
        let default_port = if u.tls { 443 } else { 80 };
        let host_rewrite = if u.port == default_port { u.host.clone() } else { format!("{}:{}", u.host, u.port) };
        let upstream_path = u.path.split('?').next().unwrap_or("/").to_string();
        let mut route = json!({
            "match": { "path": upstream_path, "filter_state": decided(&s.name) },
            // The server's idle_timeout_ms bounds how long a call may stay silent, not how long
            // it may run: a hung backend is answered within it (504, turned into a JSON-RPC
            // error naming the server while no response has started; once an SSE answer has
            // started Envoy can only reset the stream), and every response byte, a progress
            // notification included, restarts it.
            "route": mcp_route(&s.name, &host_rewrite, &seconds(s.idle_timeout_ms)),
        });
        if let Some(r) = route.as_object_mut() {
            // The client's Authorization is not for this backend (MCP forbids token passthrough)...
            let mut remove: Vec<String> = Vec::new();
            if !s.forward_authorization {
                remove.push("authorization".into());
            }
            // ...nor are the caller's verified claims (identity.payload_header): the filter and
            // the broker read them, backends need not learn who the caller is.
            if let Some(i) = &cfg.identity {
                remove.push(i.payload_header.to_ascii_lowercase());
            }
            if !remove.is_empty() {
                r.insert("request_headers_to_remove".into(), json!(remove));
            }
            // ...a configured credential is (Envoy removes before it adds). Its value is read
            // from Envoy's environment, so it is not in Envoy's config.
            if let (Some(c), Some(var)) = (&s.credential, credential_env(s)) {
                let value = format!("%ENVIRONMENT({var})%");
                // Servers may share one value_env: each variable is listed once.
                if !envoy_env.contains(&var) {
                    envoy_env.push(var);
                }
                r.insert(
                    "request_headers_to_add".into(),
                    json!([{ "header": { "key": c.header.to_ascii_lowercase(), "value": value }, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD" }]),
                );
            }
        }
        // Only the upstream path the filter sets: a client naming this authority itself gets
        // a 404 on every other path (and on the MCP path the filter rewrites :authority).
        vhosts.push(json!({ "name": s.name, "domains": [server_authority(&s.name)], "routes": [route] }));
        clusters.push(cluster(&s.name, &host, u.port, u.tls, &opts.ca_bundle));
    }

    let broker_idle_ms = cfg.enabled_servers().map(|s| s.idle_timeout_ms + 5_000).fold(opts.broker_idle_timeout_ms, u64::max);
    let (bhost, bport, broker_rewrite) = connect_to(&cfg.broker.listen).map_err(|e| format!("broker.listen: {e}"))?;
    vhosts.push(json!({
        "name": "broker",
        "domains": [BROKER_AUTHORITY],
        "routes": [{ "match": mcp_match, "route": mcp_route(BROKER_CLUSTER, &broker_rewrite, &seconds(broker_idle_ms)) }]
    }));
    clusters.push(cluster(BROKER_CLUSTER, &bhost, bport, false, &opts.ca_bundle));

    // Everything that is not the MCP endpoint: the filter leaves it alone (it only strips
    // client-sent x-mcp-* headers). RFC 9728 metadata comes from the broker.
    let mut default_routes = vec![json!({
        "match": { "prefix": "/.well-known/oauth-protected-resource" },
        "route": { "cluster": BROKER_CLUSTER, "host_rewrite_literal": broker_rewrite }
    })];
    match &opts.default_upstream {
        Some(up) => {
            let (h, p, rewrite) = connect_to(up).map_err(|e| format!("default upstream: {e}"))?;
            // With a default upstream, it gets everything (metadata included).
            default_routes = vec![json!({ "match": { "prefix": "/" }, "route": { "cluster": DEFAULT_CLUSTER, "host_rewrite_literal": rewrite } })];
            clusters.push(cluster(DEFAULT_CLUSTER, &h, p, false, &opts.ca_bundle));
        }
        None => default_routes.push(json!({ "match": { "prefix": "/" }, "direct_response": { "status": 404 } })),
    }
    vhosts.push(json!({ "name": "default", "domains": ["*"], "routes": default_routes }));

    let filter_json = serde_json::to_string_pretty(&filter_config).map_err(|e| e.to_string())?;
    // Verified claims first (identity.jwt), then the gateway's filter.
    let mut http_filters = crate::identity::filters(cfg.identity.as_ref(), cfg.session.subject_header.as_deref(), |p| checked.path(p));
    http_filters.push(json!({ "name": FILTER_NAME, "typed_config": filter_typed_config(&opts.module, &cfg.filter_keys_env(), filter_json) }));
    http_filters.extend(opts.extra_http_filters.iter().cloned());
    http_filters.push(json!({
        "name": "envoy.filters.http.router",
        "typed_config": { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" }
    }));

    let mut hcm = json!({
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "mcp_gateway",
        "codec_type": "AUTO",
        // Slow clients: bounds on sending headers, on sending the whole request (disarmed once
        // it is complete: long responses are not cut), and on silence before the filter has
        // routed the stream. Routed MCP streams (long tool calls, GET notification streams)
        // are bounded by their route's idle_timeout instead.
        "request_headers_timeout": opts.request_headers_timeout,
        "request_timeout": opts.request_timeout,
        "stream_idle_timeout": opts.stream_idle_timeout,
        // The client's address is the peer's: a client-sent X-Forwarded-For is not trusted
        // (put a trusted proxy in front and raise xff_num_trusted_hops to trust it). Requests
        // are external, so Envoy also drops client-sent x-envoy-* headers.
        "use_remote_address": true,
        "xff_num_trusted_hops": 0,
        "common_http_protocol_options": {
            // `x_mcp_toolname` must not pass for `x-mcp-toolname` anywhere downstream.
            "headers_with_underscores_action": "DROP_HEADER",
            "idle_timeout": "300s",
        },
        "route_config": { "name": ROUTE_CONFIG_NAME, "virtual_hosts": vhosts },
        "http_filters": http_filters,
        "local_reply_config": local_replies_as_jsonrpc(cfg.limits.max_body_bytes),
    });
    if let (Some(path), Some(o)) = (&opts.access_log, hcm.as_object_mut()) {
        o.insert("access_log".into(), json!([{
            "name": "envoy.access_loggers.file",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
                "path": path,
                "log_format": { "json_format": {
                    "time": "%START_TIME%",
                    "http_method": "%REQ(:METHOD)%",
                    "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
                    "authority": "%REQ(:AUTHORITY)%",
                    "status": "%RESPONSE_CODE%",
                    "flags": "%RESPONSE_FLAGS%",
                    "details": "%RESPONSE_CODE_DETAILS%",
                    "upstream": "%UPSTREAM_CLUSTER%",
                    "mcp_method": "%REQ(x-mcp-method)%",
                    "mcp_server": "%REQ(x-mcp-servername)%",
                    "mcp_tool": "%REQ(x-mcp-toolname)%",
                    "mcp_tool_hints": "%REQ(x-mcp-toolhints)%",
                    "fs_method": "%FILTER_STATE(wasm.mcp_gateway.method:PLAIN)%",
                    "fs_server": "%FILTER_STATE(wasm.mcp_gateway.server:PLAIN)%",
                    "fs_tool": "%FILTER_STATE(wasm.mcp_gateway.tool:PLAIN)%",
                    "fs_tool_hints": "%FILTER_STATE(wasm.mcp_gateway.tool_hints:PLAIN)%",
                    "fs_id": "%FILTER_STATE(wasm.mcp_gateway.id:PLAIN)%",
                    "fs_session": "%FILTER_STATE(wasm.mcp_gateway.session:PLAIN)%"
                } }
            }
        }]));
        // The native build also publishes the facts as dynamic metadata (proxy-wasm cannot).
        if opts.module == Module::Native {
            if let Some(Value::Object(fields)) = o.get_mut("access_log").and_then(|l| l.pointer_mut("/0/typed_config/log_format/json_format")) {
                for fact in ["method", "server", "tool", "tool_hints"] {
                    fields.insert(format!("dm_{fact}"), json!(format!("%DYNAMIC_METADATA(mcp_gateway:{fact})%")));
                }
            }
        }
    }

    let (lhost, lport) = split_host_port(&cfg.listen).map_err(|e| format!("listen: {e}"))?;
    let listener = json!({
        "@type": LISTENER_TYPE,
        "name": LISTENER_NAME,
        "address": socket_address(&lhost, lport),
        // Envoy caps buffered bodies at this: at least the filter's limit, plus slack.
        "per_connection_buffer_limit_bytes": cfg.limits.max_body_bytes + BUFFER_SLACK,
        "filter_chains": [{ "filters": [{ "name": "envoy.filters.network.http_connection_manager", "typed_config": hcm }] }]
    });
    let (ahost, aport) = split_host_port(&opts.admin).map_err(|e| format!("admin: {e}"))?;
    Ok(Rendered { listener, clusters, admin: json!({ "address": socket_address(&ahost, aport) }), envoy_env })
}

fn strip_type(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("@type");
    }
    v
}

impl Rendered {
    /// One self-contained bootstrap (static_resources).
    pub fn static_bootstrap(&self) -> Value {
        json!({
            "admin": self.admin,
            "static_resources": {
                "listeners": [strip_type(self.listener.clone())],
                "clusters": self.clusters.iter().cloned().map(strip_type).collect::<Vec<_>>(),
            }
        })
    }

    /// A bootstrap whose listener and clusters come from `lds` and `cds` (xDS files Envoy
    /// watches: replace them by rename and Envoy applies them without a restart). The listener
    /// takes its routes from RDS and the filter's configuration from ECDS ([`Files`]).
    pub fn dynamic_bootstrap(&self, lds: &Path, cds: &Path) -> Value {
        json!({
            "node": { "id": "mcp-gateway", "cluster": "mcp-gateway" },
            "admin": self.admin,
            "dynamic_resources": {
                "lds_config": { "path_config_source": { "path": lds.display().to_string() }, "resource_api_version": "V3" },
                "cds_config": { "path_config_source": { "path": cds.display().to_string() }, "resource_api_version": "V3" },
            }
        })
    }

    /// The type of the MCP filter's configuration (wasm or dynamic module), as rendered.
    fn filter_type_url(&self) -> String {
        self.ecds().pointer("/resources/0/typed_config/@type").and_then(Value::as_str).unwrap_or(WASM_TYPE).to_string()
    }

    fn hcm(&self) -> Option<&Value> {
        self.listener.pointer("/filter_chains/0/filters/0/typed_config")
    }

    /// The listener of the dynamic set: the same as the static one, except that its routes
    /// come from RDS (`rds`) and the wasm filter's configuration from ECDS (`ecds`). Server,
    /// prefix and timeout changes then reach Envoy without touching the listener, so Envoy
    /// does not drain its connections: in-flight calls and open streams go on.
    pub fn dynamic_listener(&self, rds: &Path, ecds: &Path) -> Value {
        let source = |p: &Path| json!({ "path_config_source": { "path": p.display().to_string() }, "resource_api_version": "V3" });
        let mut listener = self.listener.clone();
        if let Some(Value::Object(hcm)) = listener.pointer_mut("/filter_chains/0/filters/0/typed_config") {
            hcm.remove("route_config");
            hcm.insert("rds".into(), json!({ "route_config_name": ROUTE_CONFIG_NAME, "config_source": source(rds) }));
            if let Some(Value::Array(filters)) = hcm.get_mut("http_filters") {
                for f in filters.iter_mut().filter(|f| f.get("name").and_then(Value::as_str) == Some(FILTER_NAME)) {
                    *f = json!({ "name": FILTER_NAME, "config_discovery": { "config_source": source(ecds), "type_urls": [self.filter_type_url()] } });
                }
            }
        }
        listener
    }

    pub fn lds(&self, rds: &Path, ecds: &Path) -> Value {
        json!({ "resources": [self.dynamic_listener(rds, ecds)] })
    }

    fn virtual_hosts(&self) -> Vec<Value> {
        self.hcm().and_then(|h| h.pointer("/route_config/virtual_hosts")).and_then(Value::as_array).cloned().unwrap_or_default()
    }

    fn route_configuration(vhosts: Vec<Value>) -> Value {
        json!({ "resources": [{ "@type": ROUTE_CONFIG_TYPE, "name": ROUTE_CONFIG_NAME, "virtual_hosts": vhosts }] })
    }

    /// RDS: the routes.
    pub fn rds(&self) -> Value {
        Self::route_configuration(self.virtual_hosts())
    }

    /// RDS with these virtual hosts and the servers' ones of `older` that are gone here (used
    /// while a change is applied: a removed server stays routable until the filter no longer
    /// sends requests to it). The catch-all `*` virtual host stays last.
    pub fn rds_union(&self, older: &Rendered) -> Value {
        let mut all = self.virtual_hosts();
        let catch_all = all.iter().position(|v| v.get("domains") == Some(&json!(["*"]))).map(|i| all.remove(i));
        for v in older.virtual_hosts() {
            let is_catch_all = v.get("domains") == Some(&json!(["*"]));
            if !is_catch_all && !all.iter().any(|x| x.get("name") == v.get("name")) {
                all.push(v);
            }
        }
        all.extend(catch_all);
        Self::route_configuration(all)
    }

    /// The listener's HTTP filters other than the gateway's own (`identity.jwt`'s, the
    /// `--http-filters` file's): they live in the listener, which a live reload does not touch.
    pub fn fixed_http_filters(&self) -> Vec<Value> {
        let filters = self.hcm().and_then(|h| h.get("http_filters")).and_then(Value::as_array);
        filters.into_iter().flatten().filter(|f| f.get("name").and_then(Value::as_str) != Some(FILTER_NAME)).cloned().collect()
    }

    /// ECDS: the wasm filter's configuration (plugin configuration and VM).
    pub fn ecds(&self) -> Value {
        let typed = self
            .hcm()
            .and_then(|h| h.get("http_filters"))
            .and_then(Value::as_array)
            .and_then(|fs| fs.iter().find(|f| f.get("name").and_then(Value::as_str) == Some(FILTER_NAME)))
            .and_then(|f| f.get("typed_config"))
            .cloned()
            .unwrap_or(Value::Null);
        json!({ "resources": [{ "@type": EXTENSION_CONFIG_TYPE, "name": FILTER_NAME, "typed_config": typed }] })
    }

    pub fn cds(&self) -> Value {
        json!({ "resources": self.clusters })
    }

    /// CDS with these clusters and those of `older` (used while a change is applied, so no
    /// route ever names a cluster Envoy does not have).
    pub fn cds_union(&self, older: &Rendered) -> Value {
        let mut all = self.clusters.clone();
        for c in &older.clusters {
            if !all.iter().any(|x| x.get("name") == c.get("name")) {
                all.push(c.clone());
            }
        }
        json!({ "resources": all })
    }
}

pub const HEADER: &str = "# Generated by `mcp-gateway render` from the gateway config. Do not edit: change the\n\
# gateway config (or the renderer, gateway/src/render.rs) and render again.\n\
# Why it looks like this: envoy-configs/README.md.\n";

pub fn to_yaml(v: &Value) -> Result<String, String> {
    serde_norway::to_string(v).map_err(|e| format!("cannot write YAML: {e}"))
}

/// Writes `text` to `path` atomically: a temporary file in the same folder, then rename (Envoy's
/// file watcher reacts to the move).
pub fn write_atomic(path: &Path, text: &str) -> Result<(), String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp: PathBuf = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot rename to {}: {e}", path.display()))
}

/// The files of the dynamic set, in one folder: the bootstrap names LDS and CDS; the
/// listener names RDS (routes) and ECDS (the filter's configuration).
#[derive(Debug, Clone)]
pub struct Files {
    pub bootstrap: PathBuf,
    pub lds: PathBuf,
    pub cds: PathBuf,
    pub rds: PathBuf,
    pub ecds: PathBuf,
}

impl Files {
    pub fn in_dir(dir: &Path) -> Files {
        Files {
            bootstrap: dir.join("envoy.yaml"),
            lds: dir.join("lds.yaml"),
            cds: dir.join("cds.yaml"),
            rds: dir.join("rds.yaml"),
            ecds: dir.join("ecds.yaml"),
        }
    }

    pub fn write(path: &Path, v: &Value) -> Result<(), String> {
        write_atomic(path, &format!("{HEADER}{}", to_yaml(v)?))
    }
}

/// Writes the dynamic set into `dir` ([`Files`]). Returns the file names (absolute).
pub fn write_dynamic(r: &Rendered, dir: &Path) -> Result<Files, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let dir = dir.canonicalize().map_err(|e| format!("{}: {e}", dir.display()))?;
    let f = Files::in_dir(&dir);
    // Referenced before referring: what a resource names exists when Envoy reads it.
    Files::write(&f.cds, &r.cds())?;
    Files::write(&f.rds, &r.rds())?;
    Files::write(&f.ecds, &r.ecds())?;
    Files::write(&f.lds, &r.lds(&f.rds, &f.ecds))?;
    Files::write(&f.bootstrap, &r.dynamic_bootstrap(&f.lds, &f.cds))?;
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(yaml: &str) -> CheckedConfig {
        CheckedConfig::from_yaml(yaml, None).unwrap()
    }

    #[test]
    fn one_cluster_and_vhost_per_server_plus_broker_and_default() {
        let c = cfg("listen: 127.0.0.1:8080\nservers:\n - {name: a, url: 'http://127.0.0.1:7001/mcp', prefix: a_}\n - {name: b, url: 'https://example.com/x/mcp', prefix: b_, forward_authorization: true, credential: {value: 'Bearer t'}}\nsession: {key_env: X}\n");
        let r = render(&c, &Options::default()).unwrap();
        let names: Vec<_> = r.clusters.iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["a", "b", "broker"]);
        assert_eq!(r.clusters[1]["type"], "STRICT_DNS");
        let vhosts = &r.listener["filter_chains"][0]["filters"][0]["typed_config"]["route_config"]["virtual_hosts"];
        assert_eq!(vhosts[0]["domains"][0], "a.mcp.internal");
        assert_eq!(vhosts[0]["routes"][0]["route"]["host_rewrite_literal"], "127.0.0.1:7001");
        assert_eq!(vhosts[0]["routes"][0]["request_headers_to_remove"][0], "authorization");
        assert_eq!(vhosts[1]["routes"][0]["match"]["path"], "/x/mcp");
        assert_eq!(vhosts[1]["routes"][0]["route"]["host_rewrite_literal"], "example.com");
        assert!(vhosts[1]["routes"][0].get("request_headers_to_remove").is_none());
        // The credential's value stays in Envoy's environment.
        assert_eq!(vhosts[1]["routes"][0]["request_headers_to_add"][0]["header"]["value"], "%ENVIRONMENT(MCPGW_CREDENTIAL_B)%");
        assert_eq!(r.envoy_env, ["X", "MCPGW_CREDENTIAL_B"]);
        assert!(!serde_json::to_string(&r.listener).unwrap().contains("Bearer t"));
        assert_eq!(vhosts[2]["domains"][0], BROKER_AUTHORITY);
        assert_eq!(r.listener["per_connection_buffer_limit_bytes"], 4 * 1024 * 1024 + BUFFER_SLACK);
    }

    #[test]
    fn the_dynamic_listener_takes_routes_and_filter_config_from_rds_and_ecds() {
        let two = cfg("servers:\n - {name: a, url: 'http://127.0.0.1:7001/mcp', prefix: a_}\n - {name: b, url: 'http://127.0.0.1:7002/mcp', prefix: b_, idle_timeout_ms: 1500}\nsession: {key_env: X}\n");
        let one = cfg("servers:\n - {name: a, url: 'http://127.0.0.1:7001/mcp', prefix: a_}\nsession: {key_env: X}\n");
        let (r2, r1) = (render(&two, &Options::default()).unwrap(), render(&one, &Options::default()).unwrap());
        let (rds, ecds) = (Path::new("/x/rds.yaml"), Path::new("/x/ecds.yaml"));
        // The listener does not depend on the servers: changing them never drains connections.
        assert_eq!(r2.dynamic_listener(rds, ecds), r1.dynamic_listener(rds, ecds));
        let hcm = &r2.dynamic_listener(rds, ecds)["filter_chains"][0]["filters"][0]["typed_config"];
        assert!(hcm.get("route_config").is_none());
        assert_eq!(hcm["rds"]["config_source"]["path_config_source"]["path"], "/x/rds.yaml");
        assert_eq!(hcm["http_filters"][0]["config_discovery"]["type_urls"][0], DYNAMIC_MODULE_TYPE);
        assert_eq!(r2.ecds()["resources"][0]["typed_config"]["@type"], DYNAMIC_MODULE_TYPE);
        assert_ne!(r2.ecds(), r1.ecds());
        // The wasm build: the same filter configuration in the other envelope.
        let wasm = render(&two, &Options { module: Module::Wasm("/m.wasm".into()), ..Options::default() }).unwrap();
        let hcm_w = &wasm.dynamic_listener(rds, ecds)["filter_chains"][0]["filters"][0]["typed_config"];
        assert_eq!(hcm_w["http_filters"][0]["config_discovery"]["type_urls"][0], WASM_TYPE);
        let typed = |r: &Rendered| r.ecds()["resources"][0]["typed_config"].clone();
        assert_eq!(typed(&wasm)["config"]["vm_config"]["code"]["local"]["filename"], "/m.wasm");
        assert_eq!(typed(&wasm)["config"]["configuration"], typed(&r2)["filter_config"]);
        assert_eq!(typed(&r2)["dynamic_module_config"]["name"], NATIVE_MODULE);
        // The silence bound is the route's idle timeout.
        let vhost = |rds: &Value, name: &str| rds["resources"][0]["virtual_hosts"].as_array().unwrap().iter().find(|v| v["name"] == name).cloned();
        assert_eq!(vhost(&r2.rds(), "b").unwrap()["routes"][0]["route"]["idle_timeout"], "1.500s");
        assert_eq!(vhost(&r2.rds(), "a").unwrap()["routes"][0]["route"]["idle_timeout"], "300.000s");
        // While a removal is applied, the removed server stays routable; the catch-all stays last.
        let union = r1.rds_union(&r2);
        assert!(vhost(&union, "b").is_some() && vhost(&r1.rds(), "b").is_none());
        assert_eq!(union["resources"][0]["virtual_hosts"].as_array().unwrap().last().unwrap()["domains"][0], "*");
    }

    #[test]
    fn refuses_a_server_named_broker() {
        let c = cfg("servers:\n - {name: broker, url: 'http://127.0.0.1:1/mcp', prefix: x_}\nsession: {key_env: X}\n");
        assert!(render(&c, &Options::default()).unwrap_err().contains("reserved"));
    }
}
