// A minimal MCP stdio server for the sandbox tests. Tool "probe":
//   {mode: "direct", port}      a direct TCP connect to 127.0.0.1:port (no proxy)
//   {mode: "proxy", url}        an HTTP GET of url through $HTTP_PROXY (absolute form)
//   {mode: "proxy", urls: [..]} the same for each url in turn, one call; the lines joined by "; "
//   {mode: "env"}               the proxy variables it was started with
//   {mode: "self"}              its uid and CapEff from /proc/self/status, "uid U capeff C"
//   {mode: "read", path}        the file's first 16 bytes, or "error CODE"
//   {..., fail: true}           the same answer as an isError result (a failed rehearsal
//                               carries it in its deny reason)
// Each answers one text line: "connected", "error CODE", "status N BODY", or the env.
const net = require('net');
const http = require('http');
const rl = require('readline').createInterface({ input: process.stdin });
function send(m) { process.stdout.write(JSON.stringify(m) + '\n'); }
const tools = [{ name: 'probe', description: 'network probe',
  inputSchema: { type: 'object', properties: { mode: { type: 'string' }, port: { type: 'number' },
    url: { type: 'string' }, path: { type: 'string' }, fail: { type: 'boolean' }, urls: { type: 'array', items: { type: 'string' } } } } }];
const failing = new Set();  // ids of calls with fail: true
function reply(id, text) {
  send({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text }], isError: failing.has(id) } });
}
function probe(id, a) {
  if (a.mode === 'self') {
    const st = require('fs').readFileSync('/proc/self/status', 'utf8');
    const cap = (st.match(/^CapEff:\s*(\S+)/m) || [])[1];
    return reply(id, 'uid ' + process.getuid() + ' capeff ' + cap);
  }
  if (a.mode === 'read') {
    try {
      return reply(id, require('fs').readFileSync(a.path).subarray(0, 16).toString('latin1'));
    } catch (e) {
      return reply(id, 'error ' + e.code);
    }
  }
  if (a.mode === 'env') {
    return reply(id, JSON.stringify({ HTTP_PROXY: process.env.HTTP_PROXY || null,
      HTTPS_PROXY: process.env.HTTPS_PROXY || null, NO_PROXY: process.env.NO_PROXY || null }));
  }
  if (a.mode === 'direct') {
    const s = net.connect({ host: '127.0.0.1', port: a.port });
    s.setTimeout(3000, () => { s.destroy(); reply(id, 'error ETIMEDOUT'); });
    s.on('connect', () => { s.destroy(); reply(id, 'connected'); });
    s.on('error', (e) => reply(id, 'error ' + e.code));
    return;
  }
  if (Array.isArray(a.urls)) {
    const lines = [];
    const next = (i) => {
      if (i >= a.urls.length) return reply(id, lines.join('; '));
      get(a.urls[i], (line) => { lines.push(line); next(i + 1); });
    };
    return next(0);
  }
  get(a.url, (line) => reply(id, line));
}
function get(url, done) {
  const proxy = new URL(process.env.HTTP_PROXY);
  let answered = false;
  const once = (line) => { if (!answered) { answered = true; done(line); } };
  const req = http.request({ host: proxy.hostname, port: proxy.port, method: 'GET', path: url,
    headers: { Host: new URL(url).host } }, (res) => {
    let body = '';
    res.on('data', (d) => { body += d; });
    res.on('end', () => once('status ' + res.statusCode + ' ' + body));
  });
  req.setTimeout(5000, () => req.destroy(new Error('timeout')));
  req.on('error', (e) => once('error ' + (e.code || e.message)));
  req.end();
}
rl.on('line', (line) => {
  const m = JSON.parse(line);
  if (m.id === undefined) return;
  if (m.method === 'initialize') {
    send({ jsonrpc: '2.0', id: m.id, result: { protocolVersion: m.params.protocolVersion,
      capabilities: { tools: {} }, serverInfo: { name: 'egress-probe', version: '1' } } });
  } else if (m.method === 'tools/list') {
    send({ jsonrpc: '2.0', id: m.id, result: { tools } });
  } else if (m.method === 'tools/call') {
    if ((m.params.arguments || {}).fail === true) failing.add(m.id);
    probe(m.id, m.params.arguments || {});
  } else {
    send({ jsonrpc: '2.0', id: m.id, error: { code: -32601, message: 'no method' } });
  }
});
