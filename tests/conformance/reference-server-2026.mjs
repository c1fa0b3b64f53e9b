// Conformance reference server for MCP 2026-07-28 (test-only): a stateless Streamable HTTP
// MCP server with the fixtures the server scenarios that the 2026-07-28 revision requires
// (`conformance server --requirements 2026-07-28` of @modelcontextprotocol/conformance
// 0.2.0-alpha.12, pinned as conformance-2026) call: tools test_* (content kinds, progress,
// error, the input_required (MRTR) flows, the stateless diagnostics), prompts test_*,
// resources test://..., completion. The scenario texts it follows are the `description`s in
// node_modules/conformance-2026/dist/index.js.
//
// It also follows the tasks extension (io.modelcontextprotocol/tasks, SEP-2663; the `not_scored`
// tasks-* scenarios of that run), by hand: the SDK 2.4.0 has no server side for it. Fixtures
// (the "Required server fixtures" of those scenarios):
//   greet {name}              sync only: "Hello, NAME!"
//   slow_compute {seconds, label}   a task (when the request declares the extension) that
//                             completes after `seconds` (0: at once), or is cancelled; without
//                             the extension a plain result after the sleep (at most 5 s)
//   failing_job               task required: completes after 0.5 s with an isError result
//   protocol_error_job        task required: fails after 0.3 s with a JSON-RPC error (-32603)
//   confirm_delete {filename} a task in input_required (one elicitation, key `confirm`) that
//                             completes once tasks/update answers it; without the extension
//                             the same question as an MRTR input_required round
//   multi_input               task required: input_required with two elicitations (`name`,
//                             `confirm`), answerable one at a time; completes once both are
//   test_tool_with_task       task required: round 1 an MRTR input_required (`user_name`),
//                             round 2 (answered) a task that completes with "Hello, NAME!"
// A required-task tool called without the extension is -32021 (data.requiredCapabilities);
// tasks/get|update|cancel without it are -32021 too; an unknown taskId is -32602; the removed
// tasks/result and tasks/list are the SDK's -32601. Tasks live in this process (ttlMs 60000).
// Task requests are answered before the SDK sees them, after the same header checks
// (Mcp-Method = method, Mcp-Name = name or taskId, MCP-Protocol-Version = the _meta version:
// 400 -32020 otherwise).
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
import { randomBytes, randomUUID } from 'node:crypto';
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

// ---- the tasks extension (io.modelcontextprotocol/tasks), by hand ----------------------------
const TASKS_EXT = 'io.modelcontextprotocol/tasks';
const TASK_TTL_MS = 60000;
const TASK_POLL_MS = 200;
// Tools that run as tasks when the request declares the extension. `required`: never without.
const TASK_TOOLS = { slow_compute: 'optional', failing_job: 'required',
                     protocol_error_job: 'required', confirm_delete: 'optional',
                     multi_input: 'required', test_tool_with_task: 'required' };
const tasks = new Map();  // taskId -> {status, createdAt, lastUpdatedAt, result, error,
                          //            inputRequests, timer, onInput}

const tasksMissing = () => ({
  code: -32021, message: 'Missing required client capability: the tasks extension',
  data: { requiredCapabilities: { extensions: { [TASKS_EXT]: {} } } } });
const declaresTasks = (params) =>
  params?._meta?.['io.modelcontextprotocol/clientCapabilities']?.extensions?.[TASKS_EXT] !==
  undefined;

function taskView(id, t) {
  const out = { taskId: id, status: t.status, createdAt: t.createdAt,
                lastUpdatedAt: t.lastUpdatedAt, ttlMs: TASK_TTL_MS, pollIntervalMs: TASK_POLL_MS };
  if (t.statusMessage) out.statusMessage = t.statusMessage;
  if (t.status === 'completed') out.result = t.result;
  if (t.status === 'failed') out.error = t.error;
  if (t.status === 'input_required') out.inputRequests = t.inputRequests;
  return out;
}

function settle(t, status, payload = {}) {
  if (['completed', 'failed', 'cancelled'].includes(t.status)) return;
  clearTimeout(t.timer);
  t.status = status;
  t.lastUpdatedAt = new Date().toISOString();
  Object.assign(t, payload);
}

const elicitRequest = (message, properties) => ({
  method: 'elicitation/create',
  params: { mode: 'form', message,
            requestedSchema: { type: 'object', properties, required: Object.keys(properties) } },
});

// Starts the task of `tool`; returns its id (present in `tasks` before the caller answers).
function createTask(tool, args, gathered) {
  const id = randomUUID();
  const now = new Date().toISOString();
  const t = { status: 'working', createdAt: now, lastUpdatedAt: now };
  tasks.set(id, t);
  setTimeout(() => tasks.delete(id), TASK_TTL_MS).unref();
  const done = (textOut, isError = false) =>
    settle(t, 'completed', { result: { content: [text(textOut)], isError } });
  const after = (ms, fn) => { t.timer = setTimeout(fn, ms); };
  switch (tool) {
    case 'slow_compute': {
      const seconds = Math.max(0, Number(args.seconds ?? 0)) || 0;
      const label = String(args.label ?? '');
      const out = `computed ${label} after ${seconds}s`;
      if (seconds === 0) done(out); else after(seconds * 1000, () => done(out));
      break;
    }
    case 'failing_job':
      after(500, () => done('failing_job: the job failed (a tool execution error)', true));
      break;
    case 'protocol_error_job':
      after(300, () => settle(t, 'failed', { error: {
        code: -32603, message: 'Internal error: protocol_error_job panicked' } }));
      break;
    case 'confirm_delete': {
      const filename = String(args.filename ?? '');
      t.status = 'input_required';
      t.inputRequests = { confirm: elicitRequest(`Delete ${filename}?`,
                                                 { confirm: { type: 'boolean' } }) };
      t.onInput = (answers) => {
        const a = answers.confirm;
        const yes = a?.action === 'accept' && a.content?.confirm === true;
        return () => done(yes ? `Deleted ${filename}` : `Kept ${filename}`);
      };
      break;
    }
    case 'multi_input':
      t.status = 'input_required';
      t.inputRequests = {
        name: elicitRequest('What is your name?', { name: { type: 'string' } }),
        confirm: elicitRequest('Proceed?', { confirm: { type: 'boolean' } }),
      };
      t.answers = {};
      t.onInput = (answers) => {
        Object.assign(t.answers, answers);
        return () => done(`multi_input: ${Object.keys(t.answers).sort().join(', ')} answered`);
      };
      break;
    case 'test_tool_with_task':
      after(300, () => done(`Hello, ${gathered}!`));
      break;
  }
  return id;
}

// The answer to a task request `msg` (tools/call of a TASK_TOOLS tool from a client that
// declares the extension, tasks/get|update|cancel): {status, body}.
function handleTaskRequest(msg) {
  const { id, method, params } = msg;
  const ok = (result) => ({ status: 200, body: { jsonrpc: '2.0', id,
                                                 result: { resultType: 'complete', ...result } } });
  const fail = (status, error) => ({ status, body: { jsonrpc: '2.0', id, error } });
  if (method === 'tools/call') {
    const args = params.arguments ?? {};
    if (params.name === 'test_tool_with_task') {
      const got = params.inputResponses?.user_name;
      if (got?.action !== 'accept' || typeof got.content?.name !== 'string') {
        return ok({ resultType: 'input_required', inputRequests: {
          user_name: elicitRequest('What is your name?', { name: { type: 'string' } }) } });
      }
      const taskId = createTask(params.name, args, got.content.name);
      return ok({ ...taskView(taskId, tasks.get(taskId)), resultType: 'task' });
    }
    const taskId = createTask(params.name, args);
    const view = taskView(taskId, tasks.get(taskId));
    delete view.result; delete view.error; delete view.inputRequests;
    return ok({ ...view, resultType: 'task' });
  }
  if (!declaresTasks(params)) return fail(400, tasksMissing());
  const t = typeof params?.taskId === 'string' ? tasks.get(params.taskId) : undefined;
  if (!t) return fail(200, { code: -32602, message: 'Failed to retrieve task: Task not found' });
  if (method === 'tasks/get') return ok(taskView(params.taskId, t));
  if (method === 'tasks/cancel') {
    settle(t, 'cancelled', { statusMessage: 'cancelled by the client', inputRequests: undefined });
    return ok({});
  }
  // tasks/update: answers for keys the task asked and has outstanding; others are ignored.
  const answers = {};
  for (const [k, v] of Object.entries(params.inputResponses ?? {})) {
    if (t.status === 'input_required' && t.inputRequests?.[k] !== undefined) answers[k] = v;
  }
  if (Object.keys(answers).length > 0) {
    const finish = t.onInput(answers);
    const left = Object.fromEntries(
        Object.entries(t.inputRequests).filter(([k]) => answers[k] === undefined));
    t.lastUpdatedAt = new Date().toISOString();
    if (Object.keys(left).length > 0) {
      t.inputRequests = left;
    } else {
      t.inputRequests = undefined;
      t.status = 'working';
      t.timer = setTimeout(finish, 100);
    }
  }
  return ok({});
}

// Whether `msg` is a task request this layer answers (rather than the SDK): a 2026-07-28
// request (its _meta keys present) that is tasks/get|update|cancel, or a tools/call of a
// task tool from a client that declares the extension.
function isTaskRequest(msg) {
  if (!msg || typeof msg !== 'object' || Array.isArray(msg) || msg.id === undefined) return false;
  const meta = msg.params?._meta;
  if (meta?.['io.modelcontextprotocol/protocolVersion'] !== '2026-07-28' ||
      meta?.['io.modelcontextprotocol/clientCapabilities'] === undefined) {
    return false;
  }
  if (['tasks/get', 'tasks/update', 'tasks/cancel'].includes(msg.method)) return true;
  return msg.method === 'tools/call' && TASK_TOOLS[msg.params?.name] !== undefined &&
         declaresTasks(msg.params);
}

// The SEP-2243 header checks for a task request: null when they pass, else the 400 answer.
function taskHeaderMismatch(req, msg) {
  const name = msg.method === 'tools/call' ? msg.params?.name : msg.params?.taskId;
  const header = (h) => (typeof req.headers[h] === 'string' ? req.headers[h].trim() : undefined);
  let what = null;
  if (header('mcp-protocol-version') !== '2026-07-28') what = 'MCP-Protocol-Version';
  else if (header('mcp-method') !== msg.method) what = 'Mcp-Method';
  else if (header('mcp-name') !== name) what = 'Mcp-Name';
  if (what === null) return null;
  return { status: 400, body: { jsonrpc: '2.0', id: msg.id ?? null,
                                error: { code: -32020, message: `Header mismatch: ${what}` } } };
}

function registerTaskTools(server) {
  const obj = (properties = {}) => schema(properties);
  server.registerTool('greet', { description: 'Greets NAME (sync only)',
                                 inputSchema: obj({ name: { type: 'string' } }) },
                      async (args) => ({ content: [text(`Hello, ${args.name ?? ''}!`)] }));
  // Without the extension (the task layer takes the calls that declare it).
  server.registerTool('slow_compute', {
    description: 'Sleeps `seconds`, then answers (a task when the client follows tasks)',
    inputSchema: obj({ seconds: { type: 'number' }, label: { type: 'string' } }),
  }, async (args) => {
    const seconds = Math.min(5, Math.max(0, Number(args.seconds ?? 0)) || 0);
    await sleep(seconds * 1000);
    return { content: [text(`computed ${String(args.label ?? '')} after ${seconds}s`)] };
  });
  const required = async () => { throw new Error('unreachable: task required'); };
  server.registerTool('failing_job', { description: 'A task that ends in a tool error',
                                       inputSchema: obj() }, required);
  server.registerTool('protocol_error_job', { description: 'A task that fails (protocol error)',
                                              inputSchema: obj() }, required);
  // Without the extension: the same question as an MRTR input_required round.
  server.registerTool('confirm_delete', {
    description: 'Asks to confirm deleting FILENAME (a task when the client follows tasks)',
    inputSchema: obj({ filename: { type: 'string' } }),
  }, async (args, ctx) => {
    const filename = String(args.filename ?? '');
    const got = acceptedContent(ctx.mcpReq.inputResponses, 'confirm');
    if (got === undefined) {
      return inputRequired({ inputRequests: { confirm: inputRequired.elicit({
        message: `Delete ${filename}?`,
        requestedSchema: { type: 'object', properties: { confirm: { type: 'boolean' } },
                           required: ['confirm'] } }) } });
    }
    return { content: [text(got.confirm === true ? `Deleted ${filename}` : `Kept ${filename}`)] };
  });
  server.registerTool('multi_input', { description: 'A task that asks two questions at once',
                                       inputSchema: obj() }, required);
  server.registerTool('test_tool_with_task', {
    description: 'Asks for the user name (MRTR), then runs as a task', inputSchema: obj() },
  required);
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
                        resources: {}, completions: {}, logging: {},
                        extensions: { [TASKS_EXT]: {} } },
        requestState: { verify: codec.verify },
      });
  registerTools(server);
  registerTaskTools(server);
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
    // A tool that runs only as a task, called by a client that does not follow tasks.
    if (TASK_TOOLS[request.params?.name] === 'required') {
      throw new MissingRequiredClientCapabilityError(tasksMissing().data);
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
    const body = hasBody ? await readBody(req) : undefined;
    if (req.method === 'POST') {
      let msg;
      try { msg = JSON.parse(body.toString('utf8')); } catch { msg = undefined; }
      if (isTaskRequest(msg)) {
        const answer = taskHeaderMismatch(req, msg) ?? handleTaskRequest(msg);
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer.body));
        return;
      }
    }
    const request = new Request(`http://${req.headers.host}${req.url}`, {
      method: req.method, headers, body,
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
