// A scripted stand-in for Anthropic's Messages API on 127.0.0.1, so that real Claude Code
// (`claude -p`, ANTHROPIC_BASE_URL=http://127.0.0.1:PORT) runs its real hooks, settings and
// tools with no network and no model.
//
//   node fake_messages_api.mjs SCRIPT_FILE LOG_FILE
//
// Listens on 127.0.0.1 port 0 and prints one line of JSON to stdout: {"port": PORT}. Exits
// when stdin closes (a test that dies never leaves it behind) or on SIGTERM.
//
// SCRIPT_FILE (re-read on every request, so a test can change it between two `claude -p`
// runs of one session) is JSON:
//   {"tool_uses": [{"name": "Read", "input": {"file_path": "/p/a.txt"}}, ...],
//    "final": "text",
//    "conversations": [{"when": "SUBSTRING", "tool_uses": [...], "final": "..."}]}
// A tool use with "wait_for": PATH is sent only once PATH exists (polled, at most 30 s), so a
// test can act (engage a kill switch) while the conversation is between two tool uses.
// A conversation whose first prompt contains a `when` (a sub-agent's prompt, which its parent
// chose in an Agent tool use) follows that entry instead of the top level (first match wins).
// A conversation turn starts at the newest user message that is a prompt (text, not only
// tool results). The answer to a request whose turn already holds k assistant messages is
// tool_uses[k] (one tool_use block, stop_reason "tool_use"), then, once all were sent, the
// final text followed by one line per tool result of the turn, in order:
//   TOOL_RESULT <ok|error> <the result's text, newlines as \n>
// so the test reads what the model was told (a hook's deny reason, a file's contents) in
// Claude Code's own output. The answer depends only on the request (no state here): a
// retried request gets the same answer, with fresh tool_use ids.
//
// Requests without tools (Claude Code's side calls: titles, summaries, topic checks) get a
// short text. POST /v1/messages/count_tokens answers a count; any other path answers 200 {}.
// Every request is appended to LOG_FILE as one JSON line {method, path, tools, kind}, with the
// tool results seen for /v1/messages.
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const [scriptFile, logFile] = process.argv.slice(2);
if (!scriptFile || !logFile) {
  process.stderr.write('usage: node fake_messages_api.mjs SCRIPT_FILE LOG_FILE\n');
  process.exit(2);
}

const shape = (s) => ({ tool_uses: Array.isArray(s.tool_uses) ? s.tool_uses : [], final: String(s.final ?? 'done') });
const textOf = (m) => blocks(m).filter((b) => b.type === 'text').map((b) => b.text).join('\n');

// The script for a conversation: the entry whose `when` its first prompt contains, else the
// top level.
function readScript(messages) {
  let s;
  try {
    s = JSON.parse(readFileSync(scriptFile, 'utf8'));
  } catch (e) {
    return { tool_uses: [], final: `fake_messages_api: bad script ${scriptFile}: ${e.message}` };
  }
  const first = messages.find(isPrompt);
  const text = first ? textOf(first) : '';
  for (const c of Array.isArray(s.conversations) ? s.conversations : []) {
    if (typeof c.when === 'string' && text.includes(c.when)) return shape(c);
  }
  return shape(s);
}

const blocks = (m) => (typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content ?? []);
// A prompt: a user message with text and no tool results. Claude Code's own notices
// (`<task-notification>` when a background sub-agent ends) continue the turn.
const isPrompt = (m) => m.role === 'user' && blocks(m).some((b) => b.type === 'text') &&
  !blocks(m).some((b) => b.type === 'tool_result') &&
  !blocks(m).some((b) => b.type === 'text' && b.text.includes('<task-notification>'));

function resultText(b) {
  if (typeof b.content === 'string') return b.content;
  if (Array.isArray(b.content)) return b.content.map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join('');
  return '';
}

// The turn's assistant messages and tool results, from the newest prompt on.
function turn(messages) {
  let start = 0;
  messages.forEach((m, i) => { if (isPrompt(m)) start = i; });
  const rest = messages.slice(start + 1);
  const results = [];
  for (const m of rest) {
    for (const b of blocks(m)) {
      if (b.type === 'tool_result') results.push({ ok: !b.is_error, text: resultText(b) });
    }
  }
  return { assistant: rest.filter((m) => m.role === 'assistant').length, results };
}

function answer(req) {
  const usage = { input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
  if (!Array.isArray(req.tools) || req.tools.length === 0) {
    return { content: [{ type: 'text', text: 'ok' }], stop_reason: 'end_turn', usage, kind: 'side' };
  }
  const script = readScript(req.messages ?? []);
  const { assistant, results } = turn(req.messages ?? []);
  if (assistant < script.tool_uses.length) {
    const t = script.tool_uses[assistant];
    const id = 'toolu_' + randomBytes(12).toString('hex');
    return { content: [{ type: 'tool_use', id, name: t.name, input: t.input ?? {} }],
             stop_reason: 'tool_use', usage, kind: 'tool_use', results,
             wait_for: typeof t.wait_for === 'string' ? t.wait_for : undefined };
  }
  const lines = results.map((r) => `TOOL_RESULT ${r.ok ? 'ok' : 'error'} ${r.text.replace(/\n/g, '\\n')}`);
  return { content: [{ type: 'text', text: [script.final, ...lines].join('\n') }],
           stop_reason: 'end_turn', usage, kind: 'final', results };
}

function sse(res, model, a) {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'request-id': 'req_fake' });
  const send = (type, data) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  send('message_start', { message: { id: 'msg_' + randomBytes(8).toString('hex'), type: 'message', role: 'assistant',
    model, content: [], stop_reason: null, stop_sequence: null, usage: { ...a.usage, output_tokens: 1 } } });
  a.content.forEach((b, index) => {
    if (b.type === 'tool_use') {
      send('content_block_start', { index, content_block: { type: 'tool_use', id: b.id, name: b.name, input: {} } });
      const json = JSON.stringify(b.input);
      const mid = Math.floor(json.length / 2);  // two deltas, as the real API splits them
      send('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: json.slice(0, mid) } });
      send('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: json.slice(mid) } });
    } else {
      send('content_block_start', { index, content_block: { type: 'text', text: '' } });
      send('content_block_delta', { index, delta: { type: 'text_delta', text: b.text } });
    }
    send('content_block_stop', { index });
  });
  send('message_delta', { delta: { stop_reason: a.stop_reason, stop_sequence: null }, usage: { output_tokens: a.usage.output_tokens } });
  send('message_stop', {});
  res.end();
}

const server = createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    const path = req.url.split('?')[0];
    const entry = { method: req.method, path };
    let parsed = {};
    try { parsed = body ? JSON.parse(body) : {}; } catch { parsed = {}; }
    if (req.method === 'POST' && path === '/v1/messages/count_tokens') {
      appendFileSync(logFile, JSON.stringify(entry) + '\n');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ input_tokens: 10 }));
      return;
    }
    if (req.method === 'POST' && path === '/v1/messages') {
      const a = answer(parsed);
      if (!a.wait_for) return reply(a);
      const since = Date.now();
      const poll = () => (existsSync(a.wait_for) || Date.now() - since >= 30000 ? reply(a) : setTimeout(poll, 50));
      return poll();
    }
    appendFileSync(logFile, JSON.stringify(entry) + '\n');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');

    function reply(a) {
      const model = String(parsed.model ?? 'claude-fake');
      appendFileSync(logFile, JSON.stringify({ ...entry, kind: a.kind, model, stream: !!parsed.stream,
        tools: (parsed.tools ?? []).map((t) => t.name), results: a.results ?? [],
        sent: a.content.map((b) => (b.type === 'tool_use' ? { tool_use: b.name, id: b.id } : { text: b.text })) }) + '\n');
      if (parsed.stream) return sse(res, model, a);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'msg_' + randomBytes(8).toString('hex'), type: 'message', role: 'assistant', model,
        content: a.content, stop_reason: a.stop_reason, stop_sequence: null, usage: a.usage }));
    }
  });
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});
process.on('SIGTERM', () => process.exit(0));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
