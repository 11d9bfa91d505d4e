# The two commands a newcomer needs:
#   make run    set up (first time), build, and run the gateway with the embedded demo config
#               (mcp-gateway up: broker + Envoy + two demo MCP servers; Ctrl-C stops it)
#   make test   set up (first time), build, and run every test: unit (native and wasm),
#               lints, and end to end through the real Envoy with real MCP clients and servers
# Everything else here is a step of those two.

SHELL := /bin/bash
WASM := target/wasm32-wasip1/release/mcpgw_filter.wasm
PY := .venv/bin/python

.PHONY: run test setup wasm native panic-probe unit wasm-unit lint e2e conformance bench loadbench scalebench fuzz oci istio istio-test k8s-crds image k8s-test

# The demo gateway: broker + Envoy + two bundled demo MCP servers, on http://127.0.0.1:8080/mcp.
# Pass options through ARGS, e.g. make run ARGS="--config my-gateway.yaml --listen 127.0.0.1:9090".
run: setup native wasm
	cargo build --release -p mcp-gateway
	target/release/mcp-gateway up $(ARGS)

test: setup wasm native unit wasm-unit lint e2e conformance istio-test k8s-test

setup:
	scripts/setup.sh

wasm:
	cargo build --release -p mcpgw-filter --target wasm32-wasip1

# The same filter as a native Envoy dynamic module, target/native/libmcpgw_native.so (release,
# but unwinding: every hook catches panics; Cargo.toml's profile.native).
native:
	cargo build --profile native -p mcpgw-native

# A debug build of the module with the `panic_probe` filter (tests/e2e/test_native_module.py),
# in a target folder of its own so it never replaces the module above.
panic-probe:
	cargo build -p mcpgw-native --features panic-probe --target-dir target/panic-probe

unit:
	cargo test --workspace

# The same unit tests of the shared crate and the filter logic, compiled to wasm and run
# under node by wasm-bindgen-test.
wasm-unit:
	cargo test --target wasm32-unknown-unknown -p mcpgw-common -p mcpgw-filter

# The filter and the shared crate deny unwrap/expect/panic/indexing: a panic in Envoy
# poisons the worker's VM.
lint:
	cargo clippy -p mcpgw-common -p mcpgw-filter --target wasm32-wasip1 --release -- -D warnings
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p mcpgw-native --features panic-probe --target-dir target/panic-probe -- -D warnings

# The e2e harness runs the real broker and renders Envoy's config with the CLI (debug builds),
# through each filter build in turn (MCPGW_FILTERS=native or wasm for one; tests/e2e/conftest.py).
e2e: wasm native panic-probe
	cargo build -p mcpgw-broker -p mcp-gateway
	$(PY) -m pytest tests/e2e -q

# The official MCP conformance suite against each of its backends (the fixture on the Python SDK
# 2.3; legacy ones on the Python SDK 1.x and the TypeScript SDK 1.29, from setup), directly and
# through the gateway (mcp-gateway up, once per filter build; MCPGW_FILTERS as for e2e), for
# 2025-11-25 and 2026-07-28 (tests/conformance, README).
# The debug CLI built here, not a possibly stale release one.
conformance: wasm native
	cargo build -p mcpgw-broker -p mcp-gateway
	MCPGW_GATEWAY_BIN=target/debug/mcp-gateway $(PY) -m pytest tests/conformance -q

bench:
	cargo bench -p mcpgw-benches

# Side-by-side load benchmark (benches/README.md): backend direct, plain Envoy, Envoy's native
# mcp_router, our gateway; writes benches/results/. Knobs: ROUNDS, DURATION, WARMUP, SESSIONS,
# ENVOY_CONCURRENCY (environment) or benches/loadbench.py --help.
loadbench: setup wasm native
	cargo build --release -p mcpgw-broker -p mcpgw-bench-backend -p mcp-gateway
	$(PY) benches/loadbench.py

# Scale figures (issue 12, item 3; benches/README.md): 10,000 sessions over 50 backends, then a
# 60 s load with one backend killed and restarted; writes benches/results/scale.json. Knobs:
# SESSIONS, LOAD_SESSIONS, LOAD_SERVERS, DURATION, ENVOY_CONCURRENCY (environment) or
# benches/scalebench.py --help.
scalebench: setup wasm
	cargo build --release -p mcpgw-broker -p mcpgw-bench-backend -p mcp-gateway
	$(PY) benches/scalebench.py

# Runs each fuzz target for FUZZ_RUNS executions (see README "Fuzzing").
FUZZ_RUNS ?= 10000000
fuzz:
	mkdir -p fuzz/corpus/request fuzz/corpus/session_token
	cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run -O request corpus/request seeds/request -- -runs=$(FUZZ_RUNS) -max_len=8192
	cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run -O session_token corpus/session_token seeds/session_token -- -runs=$(FUZZ_RUNS) -max_len=4096
	mkdir -p fuzz/corpus/sse_ids
	cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run -O sse_ids corpus/sse_ids seeds/sse_ids -- -runs=$(FUZZ_RUNS) -max_len=65536
	mkdir -p fuzz/corpus/request_headers
	cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run -O request_headers corpus/request_headers seeds/request_headers seeds/request -- -runs=$(FUZZ_RUNS) -max_len=4096

# Istio: push the filter to an OCI registry in both formats Istio's WasmPlugin accepts, and
# print the oci:// references and the manifest digests for WasmPlugin spec.sha256.
#   make oci REGISTRY=registry.example.com[:port] [REPOSITORY=mcpgw/filter] [TAG=v1] [OCI_FLAGS=--plain-http]
REPOSITORY ?= mcpgw/filter
TAG ?= latest
oci: wasm
	@test -n "$(REGISTRY)" || { echo "usage: make oci REGISTRY=host[:port] [REPOSITORY=..] [TAG=..] [OCI_FLAGS=--plain-http]"; exit 2; }
	$(PY) scripts/publish-oci.py --registry $(REGISTRY) --repository $(REPOSITORY) --tag $(TAG) $(OCI_FLAGS)

# Re-render istio/ from istio/gateway.yaml (see istio/README.md).
istio:
	$(PY) istio/render.py

# OCI packaging, ECDS through the real Envoy, and strict manifest validation.
istio-test:
	$(PY) -m pytest tests/istio -q

# Kubernetes mode (deploy/README.md). Regenerate deploy/crds/ from the Rust types (a test
# fails when they are stale).
k8s-crds:
	cargo run -q -p mcpgw-k8s --bin mcpgw-controller -- crds --out deploy/crds

# The broker + controller image: static musl binaries, no base image, reproducible digest.
# Without REGISTRY it is written to the OCI layout target/image.
#   make image [REGISTRY=host[:port] [IMAGE_REPOSITORY=mcpgw/gateway] [TAG=..] [OCI_FLAGS=--plain-http]]
IMAGE_REPOSITORY ?= mcpgw/gateway
image: setup
	CC_x86_64_unknown_linux_musl=musl-gcc cargo build --release --target x86_64-unknown-linux-musl -p mcpgw-k8s -p mcpgw-broker --bin mcpgw-controller --bin mcpgw-broker
	$(PY) scripts/build-image.py --tag $(TAG) $(if $(REGISTRY),--registry $(REGISTRY) --repository $(IMAGE_REPOSITORY) $(OCI_FLAGS),--layout target/image)

# Kubernetes mode offline: manifests -> the controller's reconcile -> the real gateway; the
# registry API against the pinned server.json schema; deploy/ strictly validated; the image
# pushed to a local registry, pulled back with skopeo and run with podman.
k8s-test: native image
	cargo build -p mcpgw-k8s -p mcpgw-broker -p mcp-gateway
	$(PY) -m pytest tests/k8s -q
