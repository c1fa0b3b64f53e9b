// Conformance reference server (test-only): a Streamable HTTP MCP server with exactly the
// fixtures the server scenarios of @modelcontextprotocol/conformance 0.1.16 call (tools
// test_*, prompts test_*, resources test://..., completion), so that those scenarios
// measure a server that has them, directly and through Interlock's gateway. The suite's
// own reference server is not published on npm; this one follows the scenario texts in
// node_modules/@modelcontextprotocol/conformance/dist/index.js.
//
//   node reference-server.mjs [PORT]          (or PORT=N in the environment; 0: any port)
//
// Built on @modelcontextprotocol/sdk (the low-level Server, so every result is exactly the
// JSON written here) with the SDK's StreamableHTTPServerTransport: stateful sessions (one
// Server + transport per MCP-Session-Id), SSE on POST and GET. Listens on 127.0.0.1 only
// and prints `listening on http://127.0.0.1:PORT/mcp` once it accepts. DNS-rebinding
// defence: a Host whose name is not localhost / 127.0.0.1 / [::1], or an Origin present
// with any other host name, is 403 before anything else. SIGTERM/SIGINT close every
// session and exit.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  CreateMessageResultSchema,
  ElicitResultSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  isInitializeRequest,
} from '@modelcontextprotocol/sdk/types.js';

const MAX_BODY_BYTES = 4 * 1024 * 1024;

// A 1x1 red PNG.
const PNG_BASE64 =
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';

// A minimal WAV: 8 kHz mono 8-bit PCM, 8 samples of silence.
function wavBase64() {
  const samples = 8;
  const b = Buffer.alloc(44 + samples);
  b.write('RIFF', 0, 'ascii');
  b.writeUInt32LE(36 + samples, 4);
  b.write('WAVE', 8, 'ascii');
  b.write('fmt ', 12, 'ascii');
  b.writeUInt32LE(16, 16);       // fmt chunk size
  b.writeUInt16LE(1, 20);        // PCM
  b.writeUInt16LE(1, 22);        // mono
  b.writeUInt32LE(8000, 24);     // sample rate
  b.writeUInt32LE(8000, 28);     // byte rate
  b.writeUInt16LE(1, 32);        // block align
  b.writeUInt16LE(8, 34);        // bits per sample
  b.write('data', 36, 'ascii');
  b.writeUInt32LE(samples, 40);
  b.fill(0x80, 44);              // 8-bit PCM silence
  return b.toString('base64');
}
const WAV_BASE64 = wavBase64();

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const text = (t) => ({ type: 'text', text: t });
const noArgs = { type: 'object', properties: {} };

// ---- tools ------------------------------------------------------------------------------

const TOOLS = [
  { name: 'test_simple_text', description: 'Returns a simple text response',
    inputSchema: noArgs },
  { name: 'test_image_content', description: 'Returns a 1x1 PNG image', inputSchema: noArgs },
  { name: 'test_audio_content', description: 'Returns a short WAV clip', inputSchema: noArgs },
  { name: 'test_embedded_resource', description: 'Returns an embedded text resource',
    inputSchema: noArgs },
  { name: 'test_multiple_content_types',
    description: 'Returns text, image and embedded resource content', inputSchema: noArgs },
  { name: 'test_tool_with_logging',
    description: 'Sends three info log notifications while it runs', inputSchema: noArgs },
  { name: 'test_tool_with_progress',
    description: 'Reports progress 0, 50, 100 of 100 when given a progressToken',
    inputSchema: noArgs },
  { name: 'test_error_handling', description: 'Always returns an error result',
    inputSchema: noArgs },
  { name: 'test_sampling', description: 'Asks the client for an LLM completion (sampling)',
    inputSchema: { type: 'object',
                   properties: { prompt: { type: 'string', description: 'The prompt to send to the LLM' } },
                   required: ['prompt'] } },
  { name: 'test_elicitation', description: 'Asks the user for input (elicitation)',
    inputSchema: { type: 'object',
                   properties: { message: { type: 'string', description: 'The message to show the user' } },
                   required: ['message'] } },
  { name: 'test_elicitation_sep1034_defaults',
    description: 'Elicitation with a default for every primitive type (SEP-1034)',
    inputSchema: noArgs },
  { name: 'test_elicitation_sep1330_enums',
    description: 'Elicitation with the five enum schema variants (SEP-1330)',
    inputSchema: noArgs },
];

const SEP1034_SCHEMA = {
  type: 'object',
  properties: {
    name: { type: 'string', title: 'Name', default: 'John Doe' },
    age: { type: 'integer', title: 'Age', default: 30 },
    score: { type: 'number', title: 'Score', default: 95.5 },
    status: { type: 'string', title: 'Status', enum: ['active', 'inactive', 'pending'],
              default: 'active' },
    verified: { type: 'boolean', title: 'Verified', default: true },
  },
  required: [],
};

const SEP1330_SCHEMA = {
  type: 'object',
  properties: {
    untitledSingle: { type: 'string', title: 'Untitled single-select',
                      enum: ['option1', 'option2', 'option3'] },
    titledSingle: { type: 'string', title: 'Titled single-select',
                    oneOf: [{ const: 'value1', title: 'First Option' },
                            { const: 'value2', title: 'Second Option' },
                            { const: 'value3', title: 'Third Option' }] },
    legacyEnum: { type: 'string', title: 'Legacy titled enum', enum: ['opt1', 'opt2', 'opt3'],
                  enumNames: ['Option One', 'Option Two', 'Option Three'] },
    untitledMulti: { type: 'array', title: 'Untitled multi-select',
                     items: { type: 'string', enum: ['option1', 'option2', 'option3'] } },
    titledMulti: { type: 'array', title: 'Titled multi-select',
                   items: { anyOf: [{ const: 'value1', title: 'First Choice' },
                                    { const: 'value2', title: 'Second Choice' },
                                    { const: 'value3', title: 'Third Choice' }] } },
  },
  required: [],
};

function errorResult(message) {
  return { isError: true, content: [text(message)] };
}

async function elicit(server, extra, params, prefix) {
  if (!server.getClientCapabilities()?.elicitation) {
    return errorResult('The client does not support elicitation');
  }
  const r = await extra.sendRequest({ method: 'elicitation/create', params }, ElicitResultSchema);
  return { content: [text(`${prefix}: action=${r.action}, content=${JSON.stringify(r.content ?? {})}`)] };
}

async function callTool(server, request, extra) {
  const { name, arguments: args = {} } = request.params;
  switch (name) {
    case 'test_simple_text':
      return { content: [text('This is a simple text response for testing.')] };
    case 'test_image_content':
      return { content: [{ type: 'image', data: PNG_BASE64, mimeType: 'image/png' }] };
    case 'test_audio_content':
      return { content: [{ type: 'audio', data: WAV_BASE64, mimeType: 'audio/wav' }] };
    case 'test_embedded_resource':
      return { content: [{ type: 'resource',
                           resource: { uri: 'test://embedded-resource', mimeType: 'text/plain',
                                       text: 'This is an embedded resource content.' } }] };
    case 'test_multiple_content_types':
      return { content: [
        text('Multiple content types test:'),
        { type: 'image', data: PNG_BASE64, mimeType: 'image/png' },
        { type: 'resource',
          resource: { uri: 'test://mixed-content-resource', mimeType: 'application/json',
                      text: JSON.stringify({ test: 'data', value: 123 }) } },
      ] };
    case 'test_tool_with_logging': {
      const log = (data) => extra.sendNotification(
          { method: 'notifications/message', params: { level: 'info', logger: 'reference', data } });
      await log('Tool execution started');
      await sleep(50);
      await log('Tool processing data');
      await sleep(50);
      await log('Tool execution completed');
      return { content: [text('Tool with logging executed successfully')] };
    }
    case 'test_tool_with_progress': {
      const token = request.params._meta?.progressToken;
      for (const progress of [0, 50, 100]) {
        if (token !== undefined) {
          await extra.sendNotification({ method: 'notifications/progress',
                                         params: { progressToken: token, progress, total: 100 } });
        }
        if (progress < 100) await sleep(50);
      }
      return { content: [text('Tool with progress executed successfully')] };
    }
    case 'test_error_handling':
      return errorResult('This tool intentionally returns an error for testing');
    case 'test_sampling': {
      if (!server.getClientCapabilities()?.sampling) {
        return errorResult('The client does not support sampling');
      }
      const r = await extra.sendRequest({
        method: 'sampling/createMessage',
        params: { messages: [{ role: 'user', content: text(String(args.prompt ?? '')) }],
                  maxTokens: 100 },
      }, CreateMessageResultSchema);
      const reply = r.content?.type === 'text' ? r.content.text : JSON.stringify(r.content);
      return { content: [text(`LLM response: ${reply}`)] };
    }
    case 'test_elicitation':
      return elicit(server, extra, {
        message: String(args.message ?? ''),
        requestedSchema: {
          type: 'object',
          properties: {
            username: { type: 'string', description: "User's response" },
            email: { type: 'string', description: "User's email address" },
          },
          required: ['username', 'email'],
        },
      }, 'User response');
    case 'test_elicitation_sep1034_defaults':
      return elicit(server, extra,
                    { message: 'Please review and update the form fields with defaults',
                      requestedSchema: SEP1034_SCHEMA },
                    'Elicitation completed');
    case 'test_elicitation_sep1330_enums':
      return elicit(server, extra,
                    { message: 'Please select options from the enum fields',
                      requestedSchema: SEP1330_SCHEMA },
                    'Elicitation completed');
    default:
      return errorResult(`Unknown tool: ${name}`);
  }
}

// ---- resources --------------------------------------------------------------------------

const RESOURCES = [
  { uri: 'test://static-text', name: 'static-text', description: 'A static text resource',
    mimeType: 'text/plain' },
  { uri: 'test://static-binary', name: 'static-binary', description: 'A static PNG resource',
    mimeType: 'image/png' },
  { uri: 'test://watched-resource', name: 'watched-resource',
    description: 'A resource clients may subscribe to', mimeType: 'text/plain' },
];

const TEMPLATE = /^test:\/\/template\/([^/]+)\/data$/;

function readResource(uri) {
  if (uri === 'test://static-text') {
    return { contents: [{ uri, mimeType: 'text/plain',
                          text: 'This is the content of the static text resource.' }] };
  }
  if (uri === 'test://static-binary') {
    return { contents: [{ uri, mimeType: 'image/png', blob: PNG_BASE64 }] };
  }
  if (uri === 'test://watched-resource') {
    return { contents: [{ uri, mimeType: 'text/plain', text: 'Watched resource content.' }] };
  }
  const m = TEMPLATE.exec(uri);
  if (m) {
    const id = decodeURIComponent(m[1]);
    return { contents: [{ uri, mimeType: 'application/json',
                          text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }) }] };
  }
  const e = new Error(`Resource ${uri} not found`);
  e.code = -32002;
  throw e;
}

// ---- prompts ----------------------------------------------------------------------------

const PROMPTS = [
  { name: 'test_simple_prompt', description: 'A simple prompt without arguments' },
  { name: 'test_prompt_with_arguments', description: 'A prompt with two required arguments',
    arguments: [{ name: 'arg1', description: 'First test argument', required: true },
                { name: 'arg2', description: 'Second test argument', required: true }] },
  { name: 'test_prompt_with_embedded_resource', description: 'A prompt embedding a resource',
    arguments: [{ name: 'resourceUri', description: 'URI of the resource to embed',
                  required: true }] },
  { name: 'test_prompt_with_image', description: 'A prompt with image content' },
];

function getPrompt(name, args = {}) {
  switch (name) {
    case 'test_simple_prompt':
      return { messages: [{ role: 'user', content: text('This is a simple prompt for testing.') }] };
    case 'test_prompt_with_arguments':
      return { messages: [{ role: 'user', content: text(
          `Prompt with arguments: arg1='${args.arg1 ?? ''}', arg2='${args.arg2 ?? ''}'`) }] };
    case 'test_prompt_with_embedded_resource':
      return { messages: [
        { role: 'user', content: { type: 'resource',
                                   resource: { uri: String(args.resourceUri ?? ''), mimeType: 'text/plain',
                                               text: 'Embedded resource content for testing.' } } },
        { role: 'user', content: text('Please process the embedded resource above.') },
      ] };
    case 'test_prompt_with_image':
      return { messages: [
        { role: 'user', content: { type: 'image', data: PNG_BASE64, mimeType: 'image/png' } },
        { role: 'user', content: text('Please analyze the image above.') },
      ] };
    default: {
      const e = new Error(`Prompt ${name} not found`);
      e.code = -32602;
      throw e;
    }
  }
}

// Completion candidates per (prompt, argument); anything else completes to nothing.
const COMPLETIONS = {
  test_prompt_with_arguments: {
    arg1: ['paris', 'park', 'party', 'test-value-1', 'test-value-2'],
    arg2: ['alpha', 'beta', 'gamma'],
  },
};

// ---- one MCP server per session ---------------------------------------------------------

function makeServer() {
  const server = new Server(
      { name: 'interlock-conformance-reference', version: '1.0.0' },
      { capabilities: { tools: {}, resources: { subscribe: true }, prompts: {}, logging: {},
                        completions: {} } });
  const subscriptions = new Set();
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: TOOLS }));
  server.setRequestHandler(CallToolRequestSchema, (request, extra) =>
    callTool(server, request, extra));
  server.setRequestHandler(ListResourcesRequestSchema, async () => ({ resources: RESOURCES }));
  server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => ({
    resourceTemplates: [{ uriTemplate: 'test://template/{id}/data', name: 'template',
                          description: 'A resource template with an id parameter',
                          mimeType: 'application/json' }],
  }));
  server.setRequestHandler(ReadResourceRequestSchema, async (r) => readResource(r.params.uri));
  server.setRequestHandler(SubscribeRequestSchema, async (r) => {
    subscriptions.add(r.params.uri);
    return {};
  });
  server.setRequestHandler(UnsubscribeRequestSchema, async (r) => {
    subscriptions.delete(r.params.uri);
    return {};
  });
  server.setRequestHandler(ListPromptsRequestSchema, async () => ({ prompts: PROMPTS }));
  server.setRequestHandler(GetPromptRequestSchema, async (r) =>
    getPrompt(r.params.name, r.params.arguments));
  server.setRequestHandler(CompleteRequestSchema, async (r) => {
    const { ref, argument } = r.params;
    const pool = ref.type === 'ref/prompt' ? COMPLETIONS[ref.name]?.[argument.name] ?? [] : [];
    const values = pool.filter((v) => v.startsWith(argument.value ?? ''));
    return { completion: { values, total: values.length, hasMore: false } };
  });
  return server;
}

// ---- HTTP -------------------------------------------------------------------------------

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

function hostnameOf(authority) {
  try {
    return new URL(`http://${authority}`).hostname.toLowerCase();
  } catch {
    return null;
  }
}

// DNS-rebinding defence: Host must name a loopback host; an Origin, if present, too.
function rebindingRefusal(req) {
  const host = req.headers.host;
  if (!host || !LOOPBACK_NAMES.has(hostnameOf(host))) return `Host ${host ?? '(none)'} refused`;
  const origin = req.headers.origin;
  if (origin !== undefined) {
    let name = null;
    try { name = new URL(origin).hostname.toLowerCase(); } catch { /* refused below */ }
    if (!LOOPBACK_NAMES.has(name)) return `Origin ${origin} refused`;
  }
  return null;
}

function sendError(res, status, code, message) {
  if (res.headersSent) return res.end();
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const sessions = new Map();  // MCP-Session-Id -> { transport, server }

async function handle(req, res) {
  const refusal = rebindingRefusal(req);
  if (refusal) return sendError(res, 403, -32000, `Forbidden: ${refusal}`);
  const path = new URL(req.url, 'http://127.0.0.1').pathname;
  if (path !== '/mcp') return sendError(res, 404, -32000, 'Not found');

  let body;
  if (req.method === 'POST') {
    const raw = await readBody(req);
    try {
      body = JSON.parse(raw);
    } catch {
      return sendError(res, 400, -32700, 'Parse error');
    }
  }
  const sid = req.headers['mcp-session-id'];
  if (sid !== undefined) {
    const session = sessions.get(sid);
    if (!session) return sendError(res, 404, -32001, 'Session not found');
    return session.transport.handleRequest(req, res, body);
  }
  if (req.method !== 'POST' || !isInitializeRequest(body)) {
    return sendError(res, 400, -32000, 'Bad Request: no MCP-Session-Id and not an initialize request');
  }
  const server = makeServer();
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    onsessioninitialized: (id) => { sessions.set(id, { transport, server }); },
  });
  transport.onclose = () => {
    if (transport.sessionId) sessions.delete(transport.sessionId);
  };
  await server.connect(transport);
  return transport.handleRequest(req, res, body);
}

const portArg = process.argv[2] ?? process.env.PORT ?? '0';
if (!/^\d+$/.test(portArg)) {
  process.stderr.write(`reference-server: bad port ${portArg}\nusage: node reference-server.mjs [PORT]\n`);
  process.exit(2);
}

const httpServer = http.createServer((req, res) => {
  handle(req, res).catch((e) => {
    process.stderr.write(`reference-server: ${e?.stack ?? e}\n`);
    sendError(res, 500, -32603, 'Internal error');
  });
});
httpServer.listen(Number(portArg), '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${httpServer.address().port}/mcp\n`);
});

async function shutdown() {
  for (const { transport, server } of [...sessions.values()]) {
    try { await transport.close(); } catch { /* closing anyway */ }
    try { await server.close(); } catch { /* closing anyway */ }
  }
  sessions.clear();
  httpServer.close();
  httpServer.closeAllConnections();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
