// Conformance reference server for MCP 2026-07-28 (test-only): a stateless Streamable HTTP
// MCP server with the fixtures the server scenarios that the 2026-07-28 revision requires
// (`conformance server --requirements 2026-07-28` of @modelcontextprotocol/conformance
// 0.2.0-alpha.12, pinned as conformance-2026) call: tools test_* (content kinds, progress,
// error, the input_required (MRTR) flows, the stateless diagnostics), prompts test_*,
// resources test://..., completion. The scenario texts it follows are the `description`s in
// node_modules/conformance-2026/dist/index.js.
//
//   node reference-server-2026.mjs [PORT]          (or PORT=N in the environment; 0: any)
//
// Built on @modelcontextprotocol/server 2.4.0 (createMcpHandler, `legacy: 'reject'`: only
// 2026-07-28 is served; the SDK answers server/discover, checks the per-request _meta and
// the Mcp-* headers, adds cache hints). requestState is sealed with the SDK's HMAC codec
// (createRequestStateCodec, a per-process random key: one process serves every round).
// Listens on 127.0.0.1 only and prints `listening on http://127.0.0.1:PORT/mcp` once it
// accepts. DNS-rebinding defence: a Host whose name is not localhost / 127.0.0.1 / [::1],
// or an Origin present with any other host name, is 403 before anything else.
// SIGTERM/SIGINT close the handler and exit.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import {
  McpServer,
  MissingRequiredClientCapabilityError,
  ResourceTemplate,
  acceptedContent,
  createMcpHandler,
  createRequestStateCodec,
  fromJsonSchema,
  inputRequired,
} from '@modelcontextprotocol/server';

const MAX_BODY_BYTES = 4 * 1024 * 1024;

// A 1x1 red PNG.
const PNG_BASE64 =
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';
// A minimal WAV header with no samples (44 bytes).
const WAV_BASE64 = 'UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQAAAAA=';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const text = (t) => ({ type: 'text', text: t });
const schema = (properties = {}, required = []) =>
  fromJsonSchema({ type: 'object', properties, required });
const noArgs = () => schema();

// requestState integrity (input-required-result-tampered-state and every other flow that
// carries state): HMAC-SHA256 under a key that lives as long as this process.
const codec = createRequestStateCodec({ key: randomBytes(32) });

const NAME_SCHEMA = { type: 'object', properties: { name: { type: 'string' } },
                      required: ['name'] };

// ---- the diagnostics the stateless scenario reads -----------------------------------------
// (subscriptions/listen: list changes are published on the handler's bus, set below)
let notifier = null;

function registerTools(server) {
  const tool = (name, description, cb, inputSchema = noArgs()) =>
    server.registerTool(name, { description, inputSchema }, cb);

  tool('test_simple_text', 'Returns a simple text response',
       async () => ({ content: [text('This is a simple text response for testing.')] }));
  tool('test_image_content', 'Returns a 1x1 PNG image',
       async () => ({ content: [{ type: 'image', data: PNG_BASE64, mimeType: 'image/png' }] }));
  tool('test_audio_content', 'Returns a short WAV clip',
       async () => ({ content: [{ type: 'audio', data: WAV_BASE64, mimeType: 'audio/wav' }] }));
  tool('test_embedded_resource', 'Returns an embedded text resource', async () => ({
    content: [{ type: 'resource',
                resource: { uri: 'test://embedded-resource', mimeType: 'text/plain',
                            text: 'This is an embedded resource content.' } }],
  }));
  tool('test_multiple_content_types', 'Returns text, image and embedded resource content',
       async () => ({ content: [
         text('Multiple content types test:'),
         { type: 'image', data: PNG_BASE64, mimeType: 'image/png' },
         { type: 'resource',
           resource: { uri: 'test://mixed-content-resource', mimeType: 'application/json',
                       text: JSON.stringify({ test: 'data', value: 123 }) } },
       ] }));
  tool('test_tool_with_progress', 'Reports progress 0, 50, 100 of 100 given a progressToken',
       async (_args, ctx) => {
         const token = ctx.mcpReq._meta?.progressToken;
         for (const progress of [0, 50, 100]) {
           if (token !== undefined) {
             await ctx.mcpReq.notify({ method: 'notifications/progress',
                                       params: { progressToken: token, progress, total: 100 } });
           }
           if (progress < 100) await sleep(50);
         }
         return { content: [text('Tool with progress executed successfully')] };
       });
  tool('test_error_handling', 'Always returns an error result', async () => ({
    isError: true, content: [text('This tool intentionally returns an error for testing')],
  }));
  // Logs only when the request's _meta asks for a log level (the SDK filters).
  tool('test_logging_tool', 'Logs three info messages (only under _meta logLevel)',
       async (_args, ctx) => {
         for (const m of ['Tool execution started', 'Tool processing data',
                          'Tool execution completed']) {
           await ctx.mcpReq.log('info', m, 'reference-2026');
         }
         return { content: [text('Tool with logging executed successfully')] };
       });
  // Needs the client's sampling capability; the -32021 refusal is in factory() (an error a
  // tool callback throws becomes an isError result).
  tool('test_missing_capability', 'Needs the sampling client capability',
       async () => ({ content: [text('the client declared sampling')] }));
  tool('test_streaming_elicitation', 'Asks for the user name (an embedded request only)',
       async (_args, ctx) => {
         const got = acceptedContent(ctx.mcpReq.inputResponses, 'user_name');
         if (got === undefined) {
           return inputRequired({ inputRequests: {
             user_name: inputRequired.elicit({ message: 'What is your name?',
                                               requestedSchema: NAME_SCHEMA }) } });
         }
         return { content: [text(`Hello, ${got.name}!`)] };
       });
  tool('test_trigger_tool_change', 'Announces a tools list change to listeners',
       async () => {
         notifier?.toolsChanged();
         return { content: [text('tools list change announced')] };
       });
  tool('test_trigger_prompt_change', 'Announces a prompts list change to listeners',
       async () => {
         notifier?.promptsChanged();
         return { content: [text('prompts list change announced')] };
       });

  // ---- multi round-trip (input_required) flows --------------------------------------------
  tool('test_input_required_result_elicitation', 'Asks for the user name, then greets',
       async (_args, ctx) => {
         const got = acceptedContent(ctx.mcpReq.inputResponses, 'user_name');
         if (got === undefined || typeof got.name !== 'string') {
           return inputRequired({ inputRequests: {
             user_name: inputRequired.elicit({ message: 'What is your name?',
                                               requestedSchema: NAME_SCHEMA }) } });
         }
         return { content: [text(`Hello, ${got.name}!`)] };
       });
  tool('test_input_required_result_sampling', 'Asks the client LLM a question',
       async (_args, ctx) => {
         const r = ctx.mcpReq.inputResponses?.capital_question;
         if (!r || typeof r !== 'object' || !r.content) {
           return inputRequired({ inputRequests: {
             capital_question: inputRequired.createMessage({
               messages: [{ role: 'user', content: text('What is the capital of France?') }],
               maxTokens: 100 }) } });
         }
         const reply = r.content.type === 'text' ? r.content.text : JSON.stringify(r.content);
         return { content: [text(`LLM response: ${reply}`)] };
       });
  tool('test_input_required_result_list_roots', 'Asks the client for its roots',
       async (_args, ctx) => {
         const r = ctx.mcpReq.inputResponses?.client_roots;
         if (!r || !Array.isArray(r.roots)) {
           return inputRequired({ inputRequests: {
             client_roots: inputRequired.listRoots() } });
         }
         return { content: [text(`Roots: ${r.roots.map((x) => x.uri).join(', ')}`)] };
       });
  tool('test_input_required_result_request_state', 'Round-trips a sealed requestState',
       async (_args, ctx) => {
         const state = ctx.mcpReq.requestState();
         const got = acceptedContent(ctx.mcpReq.inputResponses, 'confirm');
         if (got === undefined || state?.step !== 'confirm') {
           return inputRequired({
             inputRequests: { confirm: inputRequired.elicit({
               message: 'Please confirm',
               requestedSchema: { type: 'object', properties: { ok: { type: 'boolean' } },
                                  required: ['ok'] } }) },
             requestState: await codec.mint({ step: 'confirm' }),
           });
         }
         return { content: [text(`state-ok: confirmed=${got.ok}`)] };
       });
  tool('test_input_required_result_multiple_inputs', 'Asks for three inputs at once',
       async (_args, ctx) => {
         const rs = ctx.mcpReq.inputResponses ?? {};
         const state = ctx.mcpReq.requestState();
         const name = acceptedContent(rs, 'user_name');
         if (state?.step !== 'multi' || name === undefined || !rs.greeting?.content ||
             !Array.isArray(rs.client_roots?.roots)) {
           return inputRequired({
             inputRequests: {
               user_name: inputRequired.elicit({ message: 'What is your name?',
                                                 requestedSchema: NAME_SCHEMA }),
               greeting: inputRequired.createMessage({
                 messages: [{ role: 'user', content: text('Generate a greeting') }],
                 maxTokens: 50 }),
               client_roots: inputRequired.listRoots(),
             },
             requestState: await codec.mint({ step: 'multi' }),
           });
         }
         return { content: [text(`Got all inputs: name=${name.name}, ` +
                                  `roots=${rs.client_roots.roots.length}`)] };
       });
  tool('test_input_required_result_multi_round', 'Two rounds of questions, then a result',
       async (_args, ctx) => {
         const state = ctx.mcpReq.requestState();
         const rs = ctx.mcpReq.inputResponses;
         const ask1 = async () => inputRequired({
           inputRequests: { step1: inputRequired.elicit({
             message: 'Step 1: What is your name?', requestedSchema: NAME_SCHEMA }) },
           requestState: await codec.mint({ round: 1 }),
         });
         if (state?.round === 1) {
           const step1 = acceptedContent(rs, 'step1');
           if (step1 === undefined) return ask1();
           return inputRequired({
             inputRequests: { step2: inputRequired.elicit({
               message: 'Step 2: What is your favorite color?',
               requestedSchema: { type: 'object', properties: { color: { type: 'string' } },
                                  required: ['color'] } }) },
             requestState: await codec.mint({ round: 2, name: step1.name }),
           });
         }
         if (state?.round === 2) {
           const step2 = acceptedContent(rs, 'step2');
           if (step2 !== undefined) {
             return { content: [text(`Done: name=${state.name}, color=${step2.color}`)] };
           }
         }
         return ask1();
       });
  tool('test_input_required_result_tampered_state', 'Rejects a requestState it did not seal',
       async (_args, ctx) => {
         const got = acceptedContent(ctx.mcpReq.inputResponses, 'confirm');
         if (got === undefined || ctx.mcpReq.requestState()?.step !== 'sealed') {
           return inputRequired({
             inputRequests: { confirm: inputRequired.elicit({
               message: 'Please confirm',
               requestedSchema: { type: 'object', properties: { ok: { type: 'boolean' } },
                                  required: ['ok'] } }) },
             requestState: await codec.mint({ step: 'sealed' }),
           });
         }
         return { content: [text('state-ok')] };
       });
  tool('test_input_required_result_capabilities', 'Asks only for what the client can answer',
       async (_args, ctx) => {
         const caps = ctx.mcpReq.envelope?.['io.modelcontextprotocol/clientCapabilities'] ?? {};
         const rs = ctx.mcpReq.inputResponses ?? {};
         const requests = {};
         if (caps.elicitation && acceptedContent(rs, 'user_name') === undefined) {
           requests.user_name = inputRequired.elicit({ message: 'What is your name?',
                                                       requestedSchema: NAME_SCHEMA });
         }
         if (caps.sampling && !rs.greeting?.content) {
           requests.greeting = inputRequired.createMessage({
             messages: [{ role: 'user', content: text('Generate a greeting') }],
             maxTokens: 50 });
         }
         if (caps.roots && !Array.isArray(rs.client_roots?.roots)) {
           requests.client_roots = inputRequired.listRoots();
         }
         if (Object.keys(requests).length > 0) return inputRequired({ inputRequests: requests });
         return { content: [text('every declared capability answered')] };
       });
}

function registerPrompts(server) {
  server.registerPrompt('test_simple_prompt', { description: 'A simple prompt without arguments' },
                        async () => ({ messages: [
                          { role: 'user', content: text('This is a simple prompt for testing.') }] }));
  server.registerPrompt('test_prompt_with_arguments', {
    description: 'A prompt with two required arguments',
    argsSchema: schema({ arg1: { type: 'string', description: 'First test argument' },
                         arg2: { type: 'string', description: 'Second test argument' } },
                       ['arg1', 'arg2']),
  }, async (args) => ({ messages: [{ role: 'user', content: text(
      `Prompt with arguments: arg1='${args.arg1 ?? ''}', arg2='${args.arg2 ?? ''}'`) }] }));
  server.registerPrompt('test_prompt_with_embedded_resource', {
    description: 'A prompt embedding a resource',
    argsSchema: schema({ resourceUri: { type: 'string',
                                        description: 'URI of the resource to embed' } },
                       ['resourceUri']),
  }, async (args) => ({ messages: [
    { role: 'user', content: { type: 'resource',
                               resource: { uri: String(args.resourceUri ?? ''),
                                           mimeType: 'text/plain',
                                           text: 'Embedded resource content for testing.' } } },
    { role: 'user', content: text('Please process the embedded resource above.') },
  ] }));
  server.registerPrompt('test_prompt_with_image', { description: 'A prompt with image content' },
                        async () => ({ messages: [
                          { role: 'user', content: { type: 'image', data: PNG_BASE64,
                                                     mimeType: 'image/png' } },
                          { role: 'user', content: text('Please analyze the image above.') },
                        ] }));
  server.registerPrompt('test_input_required_result_prompt', {
    description: 'A prompt that asks the user for context first (input_required)',
  }, async (ctx) => {  // a prompt without argsSchema gets the context only
    const got = acceptedContent(ctx.mcpReq.inputResponses, 'user_context');
    if (got === undefined) {
      return inputRequired({ inputRequests: { user_context: inputRequired.elicit({
        message: 'What context should the prompt use?',
        requestedSchema: { type: 'object', properties: { context: { type: 'string' } },
                           required: ['context'] } }) } });
    }
    return { messages: [{ role: 'user', content: text(`Context: ${got.context}`) }] };
  });
}

function registerResources(server) {
  server.registerResource('static-text', 'test://static-text',
                          { description: 'A static text resource', mimeType: 'text/plain' },
                          async (uri) => ({ contents: [{
                            uri: uri.href, mimeType: 'text/plain',
                            text: 'This is the content of the static text resource.' }] }));
  server.registerResource('static-binary', 'test://static-binary',
                          { description: 'A static PNG resource', mimeType: 'image/png' },
                          async (uri) => ({ contents: [{
                            uri: uri.href, mimeType: 'image/png', blob: PNG_BASE64 }] }));
  server.registerResource(
      'template-data', new ResourceTemplate('test://template/{id}/data', { list: undefined }),
      { description: 'A resource template with an id parameter', mimeType: 'application/json' },
      async (uri, { id }) => ({ contents: [{
        uri: uri.href, mimeType: 'application/json',
        text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }) }] }));
}

// Completion candidates per (prompt, argument); anything else completes to nothing.
const COMPLETIONS = {
  test_prompt_with_arguments: {
    arg1: ['paris', 'park', 'party', 'test-value-1', 'test-value-2'],
    arg2: ['alpha', 'beta', 'gamma'],
  },
};

function factory() {
  const server = new McpServer(
      { name: 'interlock-conformance-reference-2026', version: '1.0.0' },
      {
        capabilities: { tools: { listChanged: true }, prompts: { listChanged: true },
                        resources: {}, completions: {}, logging: {} },
        requestState: { verify: codec.verify },
      });
  registerTools(server);
  registerPrompts(server);
  registerResources(server);
  // test_missing_capability: a JSON-RPC -32021 error (HTTP 400) before the tool runs (an
  // error a tool callback throws becomes an isError result). The SDK has no public hook for
  // this, so the stored tools/call handler (installed by McpServer's constructor, with the
  // SDK's own checks) is wrapped in place: wrapping it through setRequestHandler would run
  // the SDK's requestState verification twice.
  const callTool = server.server._getRequestHandler('tools/call');
  server.server._requestHandlers.set('tools/call', async (request, ctx) => {
    const caps = ctx.mcpReq.envelope?.['io.modelcontextprotocol/clientCapabilities'] ?? {};
    if (request.params?.name === 'test_missing_capability' && !caps.sampling) {
      throw new MissingRequiredClientCapabilityError({ requiredCapabilities: { sampling: {} } });
    }
    return callTool(request, ctx);
  });
  server.server.setRequestHandler('completion/complete', async (request) => {
    const { ref, argument } = request.params;
    const all = (ref?.type === 'ref/prompt' && COMPLETIONS[ref.name]?.[argument?.name]) || [];
    const values = all.filter((v) => v.startsWith(String(argument?.value ?? '')));
    return { completion: { values, total: values.length, hasMore: false } };
  });
  return server;
}

// ---- HTTP -------------------------------------------------------------------------------

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

function hostnameOf(authority) {
  if (!authority) return '';
  if (authority.startsWith('[')) return authority.slice(0, authority.indexOf(']') + 1);
  const colon = authority.lastIndexOf(':');
  return (colon < 0 ? authority : authority.slice(0, colon)).toLowerCase();
}

// True when Host names the loopback interface and Origin, if present, does too.
function loopbackRequest(req) {
  if (!LOOPBACK_NAMES.has(hostnameOf(req.headers.host))) return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return LOOPBACK_NAMES.has(new URL(origin).hostname.toLowerCase());
  } catch {
    return false;
  }
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const c of req) {
    size += c.length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

const handler = createMcpHandler(factory, { legacy: 'reject' });
notifier = handler.notify;

const httpServer = http.createServer(async (req, res) => {
  try {
    if (!loopbackRequest(req)) {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id: null,
                               error: { code: -32000, message: 'Forbidden: non-loopback Host or Origin' } }));
      return;
    }
    if (new URL(req.url, 'http://127.0.0.1').pathname !== '/mcp') {
      res.writeHead(404);
      res.end();
      return;
    }
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) {
      if (typeof v === 'string') headers.set(k, v);
      else if (Array.isArray(v)) for (const x of v) headers.append(k, x);
    }
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    const request = new Request(`http://${req.headers.host}${req.url}`, {
      method: req.method, headers, body: hasBody ? await readBody(req) : undefined,
    });
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    const response = await handler.fetch(request);
    res.writeHead(response.status, Object.fromEntries(response.headers.entries()));
    res.flushHeaders();
    if (response.body) {
      const reader = response.body.getReader();
      abort.signal.addEventListener('abort', () => reader.cancel().catch(() => {}));
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        res.write(value);
      }
    }
    res.end();
  } catch (e) {
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
    res.end(String(e));
  }
});

const port = Number(process.argv[2] ?? process.env.PORT ?? 0);
httpServer.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${httpServer.address().port}/mcp\n`);
});

async function shutdown() {
  await handler.close().catch(() => {});
  httpServer.closeAllConnections();
  httpServer.close(() => process.exit(0));
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
