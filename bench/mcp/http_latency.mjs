// Added latency of the daemon's Streamable HTTP gateway (/mcp/{upstream}): N sequential `echo`
// calls to server-everything with the official SDK client over Streamable HTTP, directly to
// the server's own Streamable HTTP endpoint and through the daemon, to the same server as an
// HTTP upstream (`url:`) and as a stdio child (`command:`). Also N `ping`s each way (relayed
// untouched: the transport alone). Prints p50/p99 in microseconds.
// Usage: INTERLOCK_TOKEN=... node http_latency.mjs DIRECT_URL DAEMON_MCP_BASE [N]
//   DIRECT_URL: http://127.0.0.1:P/mcp; DAEMON_MCP_BASE: http://127.0.0.1:Q/mcp (the
//   daemon's upstreams "http" and "stdio" are under it).
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { measureClient } from "./.bench-latency.mjs";

const [directUrl, daemonBase, nArg] = process.argv.slice(2);
const N = Number(nArg ?? 2000);
const token = process.env.INTERLOCK_TOKEN ?? "";

async function measure(url, bearer) {
  const headers = bearer ? { Authorization: `Bearer ${bearer}` } : {};
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
  const client = new Client({ name: "interlock-bench", version: "1.0.0" });
  await client.connect(transport);
  const measured = await measureClient(client, N);
  try {
    await transport.terminateSession();
  } catch {
    // a server without sessions to end
  }
  await client.close();
  return measured;
}

const f = (x) => x.toFixed(0);
const direct = await measure(directUrl, "");
console.log(`calls each way: ${N}`);
console.log(`direct (server's HTTP)    p50 ${f(direct.p50)} us  p99 ${f(direct.p99)} us  (ping p50 ${f(direct.ping.p50)} us)`);
for (const upstream of ["http", "stdio"]) {
  const gated = await measure(`${daemonBase}/${upstream}`, token);
  console.log(`${`via daemon (${upstream})`.padEnd(25)} p50 ${f(gated.p50)} us  p99 ${f(gated.p99)} us  (ping p50 ${f(gated.ping.p50)} us)`);
  console.log(`${"added".padEnd(25)} p50 ${f(gated.p50 - direct.p50)} us  p99 ${f(gated.p99 - direct.p99)} us  (ping: p50 ${f(gated.ping.p50 - direct.ping.p50)} us)`);
}
