//! The filter's hot path, natively: what one `tools/call` costs the filter's own logic.
//!
//! - `parse`: one-pass JSON-RPC parse and field location.
//! - `route_and_rewrite`: router decision and prefix splice into a new body.
//! - `token_open`: gateway session token decode (base64url + XChaCha20-Poly1305 + postcard).
//! - `full_request`: the whole Stream (headers, token, body, route, rewrite, metadata) through
//!   the recording host (which also keeps every header, body and filter-state write in maps).
//! - `full_request_lean_host`: the same Stream through a host that hands over the request and
//!   discards the writes: the filter's own work, i.e. everything but Envoy's side of the host
//!   calls.
//!
//! Sizes: 300 B, 4 KiB and 256 KiB bodies. Run: `cargo bench -p mcpgw-benches`.

use std::hint::black_box;
use std::rc::Rc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use mcpgw_common::message;
use mcpgw_filter::host::Host;
use mcpgw_filter::recording_host::{drive, RecordingHost};
use mcpgw_filter::stream::{Action, Stream};

/// Hands the filter a fixed request and drops what it writes, like a host whose calls cost
/// nothing: what remains is the filter's own work.
struct LeanHost<'a> {
    headers: &'a [(String, String)],
    body: &'a [u8],
    /// The session's shared-data bucket (its learnt backend sessions).
    bucket: &'a [u8],
    routed_to: Option<String>,
}

impl Host for LeanHost<'_> {
    fn request_headers(&self) -> Vec<(String, String)> {
        self.headers.to_vec()
    }
    fn set_request_header(&mut self, name: &str, value: Option<&str>) {
        if name == ":authority" {
            self.routed_to = value.map(str::to_string);
        }
    }
    fn request_body(&self, len: usize) -> Option<Vec<u8>> {
        self.body.get(..len).map(<[u8]>::to_vec)
    }
    fn replace_request_body(&mut self, _old_len: usize, body: &[u8]) {
        black_box(body);
    }
    fn response_header(&self, _name: &str) -> Option<String> {
        Some("application/json".into())
    }
    fn remove_response_header(&mut self, _name: &str) {}
    fn response_body(&self, _len: usize) -> Option<Vec<u8>> {
        None
    }
    fn replace_response_body(&mut self, _old_len: usize, _body: &[u8]) {}
    fn send_response(&mut self, status: u32, _headers: &[(&str, &str)], _body: &[u8]) {
        panic!("bench request refused with {status}");
    }
    fn clear_route_cache(&mut self) {}
    fn set_filter_state(&mut self, key: &str, value: &str) {
        black_box((key, value));
    }
    fn increment_counter(&mut self, id: u32) {
        black_box(id);
    }
    fn now_unix_secs(&self) -> u64 {
        1
    }
    fn shared_data(&self, key: &str) -> (Option<Vec<u8>>, Option<u32>) {
        black_box(key);
        (Some(self.bucket.to_vec()), Some(1))
    }
    fn set_shared_data(&mut self, key: &str, value: &[u8], _cas: Option<u32>) -> bool {
        black_box((key, value));
        true
    }
}

fn lean_request(plugin: &Rc<mcpgw_filter::plugin::Plugin>, headers: &[(String, String)], body: &[u8], bucket: &[u8]) -> Option<String> {
    let mut host = LeanHost { headers, body, bucket, routed_to: None };
    let mut stream = Stream::new(Rc::clone(plugin));
    if stream.on_request_headers(&mut host, false) == Action::Pause {
        stream.on_request_body(&mut host, body.len(), true);
    }
    stream.on_response_headers(&mut host);
    host.routed_to
}

const SIZES: [(usize, &str); 3] = [(300, "300B"), (4 * 1024, "4KiB"), (256 * 1024, "256KiB")];

fn hot_path(c: &mut Criterion) {
    let Ok(plugin) = mcpgw_benches::plugin() else { return };
    let Ok(token) = mcpgw_benches::token() else { return };

    let mut g = c.benchmark_group("filter");
    for (size, label) in SIZES {
        let body = mcpgw_benches::tools_call(size);
        g.throughput(Throughput::Bytes(body.len() as u64));

        g.bench_with_input(BenchmarkId::new("parse", label), &body, |b, body| {
            b.iter(|| message::parse(black_box(body)).map(|m| m.kind))
        });

        g.bench_with_input(BenchmarkId::new("route_and_rewrite", label), &body, |b, body| {
            let Ok(msg) = message::parse(body) else { return };
            let Some(name) = msg.name.clone() else { return };
            b.iter(|| {
                let (_, own) = plugin.config.router.route_name(black_box(&name.value))?;
                message::splice_string(body, name.span.clone(), own)
            })
        });

        let len = body.len().to_string();
        let headers = [
            (":method", "POST"),
            (":path", "/mcp"),
            (":authority", "gateway.example.com"),
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
            ("content-length", len.as_str()),
            ("mcp-protocol-version", "2025-11-25"),
            ("mcp-session-id", token.as_str()),
        ];
        let mut template = RecordingHost::request(&headers, &body);
        // The session has used every server: its backend sessions are in shared data.
        mcpgw_benches::learn_all(&mut template);
        // Measure the routed path, not a refusal: check once that this request is routed.
        let mut probe = template.clone();
        drive(&plugin, &mut probe);
        assert!(probe.local_reply.is_none(), "bench request was refused: {:?}", probe.reply_json());
        assert_eq!(probe.header(":authority"), Some("srv7.mcp.internal"));
        let owned: Vec<(String, String)> = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let bucket = template.shared.borrow().values.get(&mcpgw_filter::revocation::bucket_key("0123456789abcdef")).map(|(v, _)| v.clone()).unwrap_or_default();
        assert_eq!(lean_request(&plugin, &owned, &body, &bucket).as_deref(), Some("srv7.mcp.internal"));
        g.bench_with_input(BenchmarkId::new("full_request_lean_host", label), &body, |b, body| {
            b.iter(|| lean_request(&plugin, &owned, black_box(body), &bucket))
        });

        g.bench_with_input(BenchmarkId::new("full_request", label), &template, |b, template| {
            b.iter_batched_ref(
                || template.clone(),
                |host| drive(&plugin, host),
                criterion::BatchSize::SmallInput,
            )
        });
    }
    g.finish();

    c.bench_function("filter/token_open", |b| {
        b.iter(|| plugin.config.sessions.open(black_box(&token), 1))
    });
}

criterion_group!(benches, hot_path);
criterion_main!(benches);
