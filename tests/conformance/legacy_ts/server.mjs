#!/usr/bin/env node
// A legacy conformance backend: the conformance suite's server fixtures on the official
// TypeScript SDK 1.29 (@modelcontextprotocol/sdk, pinned in package.json), written for this
// project from the suite's scenario expectations and tests/conformance/fixture_server.py.
//
//     node tests/conformance/legacy_ts/server.mjs PORT
//
// Streamable HTTP on 127.0.0.1:PORT, endpoint /mcp, DNS-rebinding protection on (the SDK's
// express app: loopback Host names only).
//
// The session protocol (initialize, Mcp-Session-Id; up to 2025-11-25) is the SDK's own: one
// McpServer and StreamableHTTPServerTransport per session. SDK 1.29 has nothing of 2026-07-28:
// no server/discover, no per-request `_meta` handling, no `resultType`, no InputRequiredResult
// (SEP-2322), no subscriptions/listen; a sessionless 2026-07-28 request gets the transport's
// 400 "Server not initialized". So, like the suite's own reference server on the same SDK,
// this server answers 2026-07-28 by hand (`stateless` below): the per-request checks, discover,
// listen streams, the InputRequiredResult tools, and every other request dispatched to a fresh
// in-memory McpServer session. It is "reference-like" in one more way, on purpose: its
// complete results carry no `resultType`, which 2026-07-28 made required (a server written
// against SDK 1.x types never sets it). The conformance suite's wire-schema check fails them
// for that when run directly; the gateway is expected to add it (issue 14).
//
// Its listen streams are newline-delimited JSON, as the reference server's are (see `listen`).
//
// `--stamp-result-type` adds `resultType: "complete"` itself (to check, by hand, that the
// missing field is the only thing the suite holds against this server).

import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CompleteRequestSchema,
  CreateMessageResultSchema,
  ElicitResultSchema,
  LoggingMessageNotificationSchema,
  ProgressNotificationSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  isInitializeRequest
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

const NAME = 'mcp-gateway-conformance-legacy-ts';
const VERSION = '1.0.0';
const MODERN = '2026-07-28';
const SESSION_VERSIONS = ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25'];
const PNG_1PX = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';
const WAV_EMPTY = 'UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=';
const STAMP_RESULT_TYPE = process.argv.includes('--stamp-result-type');
const LISTEN_SSE = process.argv.includes('--listen-sse');

// JSON-RPC and 2026-07-28 error codes.
const INVALID_PARAMS = -32602;
const METHOD_NOT_FOUND = -32601;
const HEADER_MISMATCH = -32020;
const MISSING_REQUIRED_CLIENT_CAPABILITY = -32021;
const UNSUPPORTED_PROTOCOL_VERSION = -32022;
const META_VERSION = 'io.modelcontextprotocol/protocolVersion';
const META_CAPS = 'io.modelcontextprotocol/clientCapabilities';
const META_LOG_LEVEL = 'io.modelcontextprotocol/logLevel';
const SUBSCRIPTION_ID = 'io.modelcontextprotocol/subscriptionId';

const text = (t) => ({ type: 'text', text: t });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- the fixtures, on one McpServer (a session's, or a 2026-07-28 request's in-memory one) ---

const CAPABILITIES = {
  tools: { listChanged: true },
  resources: { subscribe: true, listChanged: true },
  prompts: { listChanged: true },
  logging: {},
  completions: {}
};

const SCHEMA_2020_12 = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  $defs: { address: { $anchor: 'addressDef', type: 'object', properties: { street: { type: 'string' }, city: { type: 'string' } } } },
  properties: {
    name: { type: 'string' },
    address: { $ref: '#/$defs/address' },
    contactMethod: { type: 'string', enum: ['phone', 'email'] },
    phone: { type: 'string' },
    email: { type: 'string' }
  },
  allOf: [{ anyOf: [{ required: ['phone'] }, { required: ['email'] }] }],
  if: { properties: { contactMethod: { const: 'phone' } }, required: ['contactMethod'] },
  then: { required: ['phone'] },
  else: { required: ['email'] },
  additionalProperties: false
};

const titled = (...pairs) => pairs.map(([c, t]) => ({ const: c, title: t }));

const ELICIT_SCHEMAS = {
  reply: { type: 'object', properties: { response: { type: 'string', description: "User's response" } }, required: ['response'] },
  // SEP-1034: a default for every primitive type.
  defaults: {
    type: 'object',
    properties: {
      name: { type: 'string', description: 'User name', default: 'John Doe' },
      age: { type: 'integer', description: 'User age', default: 30 },
      score: { type: 'number', description: 'User score', default: 95.5 },
      status: { type: 'string', description: 'User status', enum: ['active', 'inactive', 'pending'], default: 'active' },
      verified: { type: 'boolean', description: 'Verification status', default: true }
    }
  },
  // SEP-1330: every enum shape.
  enums: {
    type: 'object',
    properties: {
      untitledSingle: { type: 'string', description: 'Simple enum without titles', enum: ['active', 'inactive', 'pending'] },
      titledSingle: {
        type: 'string',
        description: 'Enum with titled options (oneOf)',
        oneOf: titled(['low', 'Low Priority'], ['medium', 'Medium Priority'], ['high', 'High Priority'])
      },
      untitledMulti: { type: 'array', description: 'Multi-select without titles', items: { type: 'string', enum: ['read', 'write', 'execute'] } },
      titledMulti: {
        type: 'array',
        description: 'Multi-select with titled options',
        items: { anyOf: titled(['feature', 'New Feature'], ['bug', 'Bug Fix'], ['docs', 'Documentation']) }
      },
      legacyEnum: {
        type: 'string',
        description: 'Legacy enum with enumNames',
        enum: ['small', 'medium', 'large'],
        enumNames: ['Small Size', 'Medium Size', 'Large Size']
      }
    },
    required: ['untitledSingle', 'titledSingle', 'untitledMulti', 'titledMulti', 'legacyEnum']
  }
};

// The InputRequiredResult tools exist only for 2026-07-28 requests; `stateless` answers them
// before the in-memory session is reached, so here they are names and descriptions only.
const MRTR_TOOLS = {
  test_input_required_result_elicitation: 'InputRequiredResult with one elicitation',
  test_input_required_result_sampling: 'InputRequiredResult with one sampling request',
  test_input_required_result_list_roots: 'InputRequiredResult with one roots/list request',
  test_input_required_result_request_state: 'requestState must come back unchanged with the input responses',
  test_input_required_result_multiple_inputs: 'Elicitation, sampling and roots requested together',
  test_input_required_result_multi_round: 'Three rounds, the state growing each time',
  test_input_required_result_tampered_state: 'A tampered requestState is refused (the state is HMAC-sealed)',
  test_input_required_result_capabilities: 'Only asks for what the client declared'
};
const MRTR_PROMPT = 'test_input_required_result_prompt';

/** Listen streams and sessions to tell about a list change (`kind`: tools or prompts). */
const listChanged = { listeners: new Set() };
function announceListChanged(kind) {
  for (const l of listChanged.listeners) l(kind);
}

function fixtures({ era, transportFor }) {
  const srv = new McpServer({ name: NAME, version: VERSION }, { capabilities: CAPABILITIES });
  const subscribed = new Set();
  const tool = (name, description, handler, inputSchema) =>
    srv.registerTool(name, inputSchema ? { description, inputSchema } : { description }, handler);

  // --- content tools ---
  tool('test_simple_text', 'Tests simple text content response', async () => ({
    content: [text('This is a simple text response for testing.')]
  }));
  tool('test_image_content', 'Tests image content response', async () => ({
    content: [{ type: 'image', data: PNG_1PX, mimeType: 'image/png' }]
  }));
  tool('test_audio_content', 'Tests audio content response', async () => ({
    content: [{ type: 'audio', data: WAV_EMPTY, mimeType: 'audio/wav' }]
  }));
  tool('test_embedded_resource', 'Tests embedded resource content response', async () => ({
    content: [{ type: 'resource', resource: { uri: 'test://embedded-resource', mimeType: 'text/plain', text: 'This is an embedded resource content.' } }]
  }));
  tool('test_multiple_content_types', 'Tests response with multiple content types (text, image, resource)', async () => ({
    content: [
      text('Multiple content types test:'),
      { type: 'image', data: PNG_1PX, mimeType: 'image/png' },
      { type: 'resource', resource: { uri: 'test://mixed-content-resource', mimeType: 'application/json', text: '{"test": "data", "value": 123}' } }
    ]
  }));
  tool('test_error_handling', 'Tests error response handling', async () => {
    throw new Error('This tool intentionally returns an error for testing');
  });

  // --- tools that talk back while running ---
  tool(
    'test_tool_with_logging',
    'Tests tool that emits log messages during execution',
    async (_args, extra) => {
      const steps = ['Tool execution started', 'Tool processing data', 'Tool execution completed'];
      for (const [i, msg] of steps.entries()) {
        if (i) await sleep(50);
        await extra.sendNotification({ method: 'notifications/message', params: { level: 'info', data: msg } });
      }
      return { content: [text('Tool with logging executed successfully')] };
    },
    {}
  );
  tool(
    'test_tool_with_progress',
    'Tests tool that reports progress notifications',
    async (_args, extra) => {
      const token = extra._meta?.progressToken;
      for (const [i, step] of [0, 50, 100].entries()) {
        if (i) await sleep(50);
        if (token !== undefined) {
          await extra.sendNotification({
            method: 'notifications/progress',
            params: { progressToken: token, progress: step, total: 100, message: `Completed step ${step} of 100` }
          });
        }
      }
      return { content: [text(String(token ?? 0))] };
    },
    {}
  );
  tool(
    'test_sampling',
    'Tests server-initiated sampling (LLM completion request)',
    async ({ prompt }, extra) => {
      try {
        // extra.sendRequest: asked on this call's own SSE stream, not the GET stream.
        const r = await extra.sendRequest(
          { method: 'sampling/createMessage', params: { messages: [{ role: 'user', content: text(prompt) }], maxTokens: 100 } },
          CreateMessageResultSchema
        );
        return { content: [text(`LLM response: ${r.content?.type === 'text' ? r.content.text : 'No response'}`)] };
      } catch (e) {
        return { content: [text(`Sampling not supported or error: ${e.message}`)] };
      }
    },
    { prompt: z.string().describe('The prompt to send to the LLM') }
  );
  const elicit = async (extra, message, requestedSchema, label) => {
    try {
      const r = await extra.sendRequest({ method: 'elicitation/create', params: { mode: 'form', message, requestedSchema } }, ElicitResultSchema);
      const content = r.action === 'accept' ? JSON.stringify(r.content ?? {}) : '{}';
      return { content: [text(`${label}: action=${r.action}, content=${content}`)] };
    } catch (e) {
      return { content: [text(`Elicitation not supported or error: ${e.message}`)] };
    }
  };
  tool(
    'test_elicitation',
    'Tests server-initiated elicitation (user input request)',
    async ({ message }, extra) => elicit(extra, message, ELICIT_SCHEMAS.reply, 'User response'),
    { message: z.string().describe('The message to show the user') }
  );
  tool(
    'test_elicitation_sep1034_defaults',
    'Tests elicitation with default values for all primitive types (SEP-1034)',
    async (_args, extra) => elicit(extra, 'Please provide user information', ELICIT_SCHEMAS.defaults, 'Elicitation result'),
    {}
  );
  tool(
    'test_elicitation_sep1330_enums',
    'Tests elicitation with enum schema variations per SEP-1330',
    async (_args, extra) =>
      elicit(extra, 'Please select values using different enum schema types', ELICIT_SCHEMAS.enums, 'Elicitation completed'),
    {}
  );
  tool(
    'test_reconnection',
    'Tests SSE polling by closing stream mid-call (SEP-1699)',
    async (_args, extra) => {
      const log = (data) => extra.sendNotification({ method: 'notifications/message', params: { level: 'info', data } });
      await log('Before disconnect');
      transportFor?.(extra.sessionId)?.closeSSEStream(extra.requestId);
      await sleep(200);
      await log('After reconnect');
      return { content: [text('Reconnection test completed')] };
    },
    {}
  );

  // --- 2026-07-28 names: headers, capabilities, list changes ---
  tool(
    'test_x_mcp_header',
    'Tests SEP-2243 Mcp-Param-* server-side validation',
    async ({ region }) => ({ content: [text(`region=${region ?? '<none>'}`)] }),
    { region: z.string().describe('Mirrored into the Mcp-Param-Region header').optional() }
  );
  tool('test_missing_capability', "Requires the client's sampling capability", async () => {
    // On the session protocol (2026-07-28 requests are answered from `_meta` in `stateless`,
    // with -32021): McpServer turns the throw into an isError result.
    if (!srv.server.getClientCapabilities()?.sampling) throw new Error("This tool requires the client 'sampling' capability");
    return { content: [text('Client declared sampling capability; proceeding.')] };
  });
  tool('json_schema_2020_12_tool', 'Tests JSON Schema 2020-12 keyword preservation in tools/list', async () => ({
    content: [text('json_schema_2020_12_tool')]
  }));
  const change = async (kind) => {
    const t = kind === 'tools' ? srv.registerTool('test_dynamic_tool', { description: 'dynamic' }, async () => ({ content: [text('dynamic')] }))
      : srv.registerPrompt('test_dynamic_prompt', { description: 'dynamic' }, async () => ({ messages: [] }));
    t.remove(); // registering and removing each sends the session its list_changed
    announceListChanged(kind);
  };
  tool('test_trigger_tool_change', 'Changes the tool list and says so on sessions and subscriptions/listen streams', async () => {
    await change('tools');
    return { content: [text('tool list changed')] };
  });
  tool('test_trigger_prompt_change', 'Changes the prompt list and says so on sessions and subscriptions/listen streams', async () => {
    await change('prompts');
    return { content: [text('prompt list changed')] };
  });
  if (era === 'stateless') {
    for (const [name, description] of Object.entries(MRTR_TOOLS)) tool(name, description, async () => ({ content: [] }));
  }

  // --- resources ---
  srv.registerResource('static_text', 'test://static-text', { description: 'A static text resource for testing', mimeType: 'text/plain' }, async (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'This is the content of the static text resource.' }]
  }));
  srv.registerResource('static_binary', 'test://static-binary', { description: 'A static binary resource (image) for testing', mimeType: 'image/png' }, async (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'image/png', blob: PNG_1PX }]
  }));
  srv.registerResource(
    'template_data',
    new ResourceTemplate('test://template/{id}/data', { list: undefined }),
    { description: 'A resource template with parameter substitution', mimeType: 'application/json' },
    async (uri, { id }) => ({
      contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }) }]
    })
  );
  srv.registerResource('watched', 'test://watched-resource', { description: 'A resource that can be subscribed to for updates', mimeType: 'text/plain' }, async (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'Watched resource content' }]
  }));

  // --- prompts ---
  const user = (content) => ({ role: 'user', content });
  srv.registerPrompt('test_simple_prompt', { description: 'A simple prompt without arguments' }, async () => ({
    messages: [user(text('This is a simple prompt for testing.'))]
  }));
  srv.registerPrompt(
    'test_prompt_with_arguments',
    { description: 'A prompt with required arguments', argsSchema: { arg1: z.string(), arg2: z.string() } },
    async ({ arg1, arg2 }) => ({ messages: [user(text(`Prompt with arguments: arg1='${arg1}', arg2='${arg2}'`))] })
  );
  srv.registerPrompt(
    'test_prompt_with_embedded_resource',
    { description: 'A prompt that includes an embedded resource', argsSchema: { resourceUri: z.string() } },
    async ({ resourceUri }) => ({
      messages: [
        user({ type: 'resource', resource: { uri: resourceUri, mimeType: 'text/plain', text: 'Embedded resource content for testing.' } }),
        user(text('Please process the embedded resource above.'))
      ]
    })
  );
  srv.registerPrompt('test_prompt_with_image', { description: 'A prompt that includes image content' }, async () => ({
    messages: [user({ type: 'image', data: PNG_1PX, mimeType: 'image/png' }), user(text('Please analyze the image above.'))]
  }));
  if (era === 'stateless') {
    srv.registerPrompt(MRTR_PROMPT, { description: 'InputRequiredResult from prompts/get (a non-tool request)' }, async () => ({ messages: [] }));
  }

  // --- the low-level handlers McpServer has no API for ---
  srv.server.setRequestHandler(SubscribeRequestSchema, async (req) => {
    subscribed.add(req.params.uri);
    return {};
  });
  srv.server.setRequestHandler(UnsubscribeRequestSchema, async (req) => {
    subscribed.delete(req.params.uri);
    return {};
  });
  srv.server.setRequestHandler(CompleteRequestSchema, async () => ({ completion: { values: [], total: 0, hasMore: false } }));

  // tools/list with the one hand-written inputSchema (McpServer derives the others from zod).
  const listTools = srv.server._requestHandlers.get('tools/list');
  srv.server._requestHandlers.set('tools/list', async (req, extra) => {
    const r = await listTools(req, extra);
    for (const t of r.tools) if (t.name === 'json_schema_2020_12_tool') t.inputSchema = SCHEMA_2020_12;
    return r;
  });
  return srv;
}

// ---- the session protocol: the SDK's own transport, one McpServer per session ---------------

class MemoryEvents {
  // SSE event store, so a client may resume a stream after test_reconnection closed it.
  constructor() {
    this.events = [];
  }
  async storeEvent(streamId, message) {
    const id = String(this.events.length + 1);
    this.events.push({ id, streamId, message });
    return id;
  }
  async replayEventsAfter(lastEventId, { send }) {
    const last = this.events.find((e) => e.id === lastEventId);
    if (!last) return '';
    for (const e of this.events) {
      if (e.streamId === last.streamId && Number(e.id) > Number(lastEventId) && e.message) await send(e.id, e.message);
    }
    return last.streamId;
  }
}

const sessions = new Map(); // session id -> transport

async function sessionRequest(req, res) {
  const id = req.headers['mcp-session-id'];
  let transport = id ? sessions.get(id) : undefined;
  if (!transport && req.method === 'POST' && !id && isInitializeRequest(req.body)) {
    transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      eventStore: new MemoryEvents(),
      retryInterval: 100,
      onsessioninitialized: (sid) => sessions.set(sid, transport)
    });
    transport.onclose = () => transport.sessionId && sessions.delete(transport.sessionId);
    const srv = fixtures({ era: 'session', transportFor: (sid) => sessions.get(sid) });
    await srv.connect(transport);
  }
  if (!transport) {
    const [status, message] = id ? [404, 'Session not found'] : [400, 'Bad Request: No valid session ID provided'];
    return res.status(status).json({ jsonrpc: '2.0', id: req.body?.id ?? null, error: { code: -32000, message } });
  }
  await transport.handleRequest(req, res, req.body);
}

// ---- 2026-07-28, by hand (SDK 1.29 has none of it) -------------------------------------------

/** True for a request of the stateless protocol: no session, and a 2026-07-28-style header or `_meta`. */
function isStateless(req) {
  if (req.method !== 'POST' || req.headers['mcp-session-id']) return false;
  const header = req.headers['mcp-protocol-version'];
  const meta = req.body?.params?._meta;
  if (header !== undefined) return !SESSION_VERSIONS.includes(header);
  return meta?.[META_VERSION] !== undefined;
}

const REMOVED = new Set(['initialize', 'ping', 'logging/setLevel', 'resources/subscribe', 'resources/unsubscribe']);
const CACHEABLE = new Set(['server/discover', 'tools/list', 'prompts/list', 'resources/list', 'resources/templates/list', 'resources/read']);

function complete(method, result) {
  const r = { ...result };
  if (STAMP_RESULT_TYPE) r.resultType ??= 'complete';
  if (CACHEABLE.has(method)) {
    r.ttlMs ??= 0;
    r.cacheScope ??= 'private';
  }
  r._meta = { ...(r._meta ?? {}), 'io.modelcontextprotocol/serverInfo': { name: NAME, version: VERSION } };
  return r;
}

function inputRequired(inputRequests, requestState) {
  return { resultType: 'input_required', inputRequests, ...(requestState === undefined ? {} : { requestState: seal(requestState) }) };
}

const fail = (res, status, id, code, message, data) =>
  res.status(status).json({ jsonrpc: '2.0', id, error: { code, message, ...(data === undefined ? {} : { data }) } });

// requestState is the client's to carry, so it is sealed: HMAC-SHA256 with a key of this process.
const STATE_KEY = randomBytes(32);
function seal(state) {
  const body = Buffer.from(JSON.stringify(state)).toString('base64url');
  return `${body}.${createHmac('sha256', STATE_KEY).update(body).digest('base64url')}`;
}
function unseal(sealed) {
  if (sealed === undefined) return { state: undefined };
  const [body, mac, more] = typeof sealed === 'string' ? sealed.split('.') : [];
  if (!body || !mac || more !== undefined) return { error: 'malformed requestState' };
  const want = createHmac('sha256', STATE_KEY).update(body).digest();
  const got = Buffer.from(mac, 'base64url');
  if (got.length !== want.length || !timingSafeEqual(got, want)) return { error: 'requestState failed its integrity check' };
  return { state: JSON.parse(Buffer.from(body, 'base64url').toString()) };
}

const ask = (message, field) => ({
  method: 'elicitation/create',
  params: { mode: 'form', message, requestedSchema: { type: 'object', properties: { [field]: { type: 'string' } }, required: [field] } }
});
const sample = (prompt, maxTokens) => ({
  method: 'sampling/createMessage',
  params: { messages: [{ role: 'user', content: text(prompt) }], maxTokens }
});
const ROOTS = { method: 'roots/list' };
const CONFIRM = {
  method: 'elicitation/create',
  params: { mode: 'form', message: 'Please confirm', requestedSchema: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] } }
};
const elicited = (answer, key) => (answer?.action === 'accept' ? answer.content?.[key] : undefined);
const done = (t) => ({ content: [text(t)] });

/** The InputRequiredResult tools (SEP-2322): a complete result, or the inputs still missing. */
function mrtrTool(name, got, state, caps) {
  switch (name) {
    case 'test_input_required_result_elicitation':
      return 'user_name' in got ? done(`Hello, ${elicited(got.user_name, 'name') ?? 'stranger'}!`) : inputRequired({ user_name: ask('What is your name?', 'name') });
    case 'test_input_required_result_sampling': {
      if (!('capital_question' in got)) return inputRequired({ capital_question: sample('What is the capital of France?', 100) });
      const c = got.capital_question?.content;
      return done(`Model said: ${c?.type === 'text' ? c.text : '?'}`);
    }
    case 'test_input_required_result_list_roots': {
      if (!('client_roots' in got)) return inputRequired({ client_roots: ROOTS });
      const roots = got.client_roots?.roots;
      return done(`Client exposed ${Array.isArray(roots) ? roots.length : 0} root(s).`);
    }
    case 'test_input_required_result_request_state':
      if ('confirm' in got && state === 'request-state-nonce') return done('state-ok: confirmation received');
      return inputRequired({ confirm: CONFIRM }, 'request-state-nonce');
    case 'test_input_required_result_multiple_inputs':
      if (['user_name', 'greeting', 'client_roots'].every((k) => k in got)) return done('All inputs received.');
      return inputRequired(
        { user_name: ask('What is your name?', 'name'), greeting: sample('Generate a greeting', 50), client_roots: ROOTS },
        'multiple-inputs'
      );
    case 'test_input_required_result_multi_round': {
      const round = state?.round ?? 0;
      if (round === 1 && 'step1' in got) {
        return inputRequired({ step2: ask('Step 2: What is your favorite color?', 'color') }, { round: 2, name: elicited(got.step1, 'name') });
      }
      if (round === 2 && 'step2' in got) return done(`${state.name} likes ${elicited(got.step2, 'color')}.`);
      return inputRequired({ step1: ask('Step 1: What is your name?', 'name') }, { round: 1 });
    }
    case 'test_input_required_result_tampered_state':
      return state === undefined ? inputRequired({ confirm: CONFIRM }, 'round-1') : done(`state-ok: ${state}`);
    case 'test_input_required_result_capabilities': {
      const wanted = {};
      if (caps.sampling) wanted.sample = sample('Say hello', 50);
      if (caps.elicitation) wanted.ask = ask('What is your name?', 'name');
      return inputRequired(wanted, 'capability-gated');
    }
  }
  return undefined;
}

/** `inputResponses`, if valid: absent, or an object whose every answer is an object. */
function inputResponses(params) {
  if (!('inputResponses' in params)) return { got: {} };
  const r = params.inputResponses;
  if (r === null || typeof r !== 'object' || Array.isArray(r)) return { error: 'inputResponses must be an object' };
  for (const [k, v] of Object.entries(r)) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return { error: `inputResponses.${k} must be an object` };
  }
  return { got: r };
}

// Listen streams (subscriptions/listen): each a response held open, fed list changes it asked for.
// Written as the suite's reference server on this SDK writes them: newline-delimited JSON under
// `Content-Type: application/json`, one message a line (`--listen-sse`: as SSE events instead),
// so the gateway is held to reading both framings.
function listen(req, res, id, params) {
  const wants = params.notifications ?? {};
  const subscription = String(id);
  const honored = {};
  if (wants.toolsListChanged === true) honored.toolsListChanged = true;
  if (wants.promptsListChanged === true) honored.promptsListChanged = true;
  const contentType = LISTEN_SSE ? 'text/event-stream' : 'application/json';
  res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-cache', connection: 'keep-alive' });
  const frame = (msg) => (LISTEN_SSE ? `event: message\ndata: ${JSON.stringify(msg)}\n\n` : `${JSON.stringify(msg)}\n`);
  const send = (method, extra = {}) =>
    res.write(frame({ jsonrpc: '2.0', method, params: { ...extra, _meta: { [SUBSCRIPTION_ID]: subscription } } }));
  send('notifications/subscriptions/acknowledged', { notifications: honored });
  const listener = (kind) => {
    if (kind === 'tools' && honored.toolsListChanged) send('notifications/tools/list_changed');
    if (kind === 'prompts' && honored.promptsListChanged) send('notifications/prompts/list_changed');
  };
  listChanged.listeners.add(listener);
  res.on('close', () => listChanged.listeners.delete(listener));
}

/** Any other request: a fresh McpServer behind an in-memory session that declares this
 * request's client capabilities; notifications it sends on the way (progress, and log messages
 * when `_meta` asked for a level) turn the answer into an SSE stream. */
async function dispatch(res, id, method, params, caps) {
  const srv = fixtures({ era: 'stateless' });
  const client = new Client({ name: 'stateless-dispatch', version: VERSION }, { capabilities: caps });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await srv.connect(a);
  await client.connect(b);
  let sse = false;
  const event = (msg) => {
    if (!sse) {
      sse = true;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    }
    res.write(`event: message\ndata: ${JSON.stringify(msg)}\n\n`);
  };
  const logLevel = params._meta?.[META_LOG_LEVEL];
  client.setNotificationHandler(ProgressNotificationSchema, (n) => event({ jsonrpc: '2.0', ...n }));
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => logLevel && event({ jsonrpc: '2.0', ...n }));
  let reply;
  try {
    const { _meta, ...rest } = params;
    const meta = Object.fromEntries(Object.entries(_meta ?? {}).filter(([k]) => !k.startsWith('io.modelcontextprotocol/')));
    const result = await client.request({ method, params: { ...rest, ...(Object.keys(meta).length ? { _meta: meta } : {}) } }, z.object({}).passthrough());
    reply = { jsonrpc: '2.0', id, result: complete(method, result) };
  } catch (e) {
    const code = typeof e.code === 'number' ? e.code : -32603;
    const message = String(e.message ?? e).replace(/^MCP error -?\d+: /, '');
    // SEP-2164: an unknown resource is -32602 naming the URI (McpServer gives the code only).
    if (method === 'resources/read' && code === INVALID_PARAMS && e.data === undefined) e.data = { uri: params.uri };
    reply = { jsonrpc: '2.0', id, error: { code, message, ...(e.data === undefined ? {} : { data: e.data }) } };
  } finally {
    await client.close().catch(() => {});
    await srv.close().catch(() => {});
  }
  if (sse) {
    event(reply);
    res.end();
  } else {
    res.status(reply.error?.code === METHOD_NOT_FOUND ? 404 : 200).json(reply);
  }
}

async function stateless(req, res) {
  const body = req.body ?? {};
  const id = body.id ?? null;
  const method = body.method;
  const params = body.params ?? {};
  const header = req.headers['mcp-protocol-version'];
  const meta = params._meta;
  // The per-request checks, first failure wins: the header, `_meta`, the two agreeing, the version.
  if (!header) return fail(res, 400, id, HEADER_MISMATCH, 'Missing MCP-Protocol-Version header');
  if (!meta || typeof meta !== 'object' || !meta[META_VERSION] || !meta[META_CAPS]) {
    return fail(res, 400, id, INVALID_PARAMS, 'Invalid params: _meta must carry protocolVersion and clientCapabilities');
  }
  if (meta[META_VERSION] !== header) return fail(res, 400, id, HEADER_MISMATCH, 'MCP-Protocol-Version header does not match _meta');
  if (header !== MODERN) {
    return fail(res, 400, id, UNSUPPORTED_PROTOCOL_VERSION, `Unsupported protocol version ${header}`, { supported: [MODERN], requested: header });
  }
  if (req.headers['mcp-method'] !== undefined && req.headers['mcp-method'] !== method) {
    return fail(res, 400, id, HEADER_MISMATCH, 'Mcp-Method header does not match the body');
  }
  const caps = meta[META_CAPS];

  if (method === 'server/discover') {
    return res.json({ jsonrpc: '2.0', id, result: complete(method, { supportedVersions: [MODERN], capabilities: CAPABILITIES }) });
  }
  if (method === 'subscriptions/listen') return listen(req, res, id, params);
  if (REMOVED.has(method)) return fail(res, 404, id, METHOD_NOT_FOUND, `Method not found: ${method}`);

  const mrtrCall = method === 'tools/call' && params.name in MRTR_TOOLS;
  const mrtrPrompt = method === 'prompts/get' && params.name === MRTR_PROMPT;
  if (mrtrCall || mrtrPrompt) {
    const { got, error } = inputResponses(params);
    if (error) return fail(res, 400, id, INVALID_PARAMS, error);
    const { state, error: stateError } = unseal(params.requestState);
    if (stateError) return fail(res, 400, id, INVALID_PARAMS, stateError);
    let result;
    if (mrtrPrompt) {
      result = 'user_context' in got
        ? { messages: [{ role: 'user', content: text(`Use the following context: ${elicited(got.user_context, 'context') ?? '?'}`) }] }
        : inputRequired({ user_context: ask('What context should the prompt use?', 'context') });
    } else {
      result = mrtrTool(params.name, got, state, caps);
    }
    return res.json({ jsonrpc: '2.0', id, result: result.resultType === 'input_required' ? result : complete(method, result) });
  }
  if (method === 'tools/call' && params.name === 'test_missing_capability' && !caps.sampling) {
    return fail(res, 400, id, MISSING_REQUIRED_CLIENT_CAPABILITY, "This tool requires the client 'sampling' capability", {
      requiredCapabilities: { sampling: {} }
    });
  }
  return dispatch(res, id, method, params, caps);
}

// ---- the HTTP server ------------------------------------------------------------------------

const port = Number(process.argv[2]);
if (!Number.isInteger(port)) {
  console.error('usage: server.mjs PORT [--stamp-result-type] [--listen-sse]');
  process.exit(2);
}
const app = createMcpExpressApp({ host: '127.0.0.1' });
app.all('/mcp', (req, res) => {
  const handle = isStateless(req) ? stateless : sessionRequest;
  handle(req, res).catch((e) => {
    console.error(e);
    if (!res.headersSent) fail(res, 500, req.body?.id ?? null, -32603, 'Internal error');
  });
});
app.listen(port, '127.0.0.1', () => console.error(`${NAME} on http://127.0.0.1:${port}/mcp`));
