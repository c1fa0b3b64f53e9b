// The official MCP SDK client authorizing with OAuth 2.1 (its OAuthClientProvider) to the
// daemon's /mcp/{upstream}: protected-resource metadata discovery, dynamic client
// registration, PKCE and a resource indicator against a real OpenID provider
// (tests/idp/idp.mjs started with --auto-login). redirectToAuthorization follows the
// provider's redirects itself (keeping its cookies) and captures the code from the final
// redirect to the client's redirect_uri, which is never contacted.
//
// Usage: node sdk_oauth_client.mjs URL STEPS.json
// STEPS.json: [{"call": NAME, "arguments": {...}} | {"sleep_ms": N} | {"probe": URL}
//             | {"probe_token_at": URL}]
//   call:    tools/call through the authorized client (re-authorizing when the daemon
//            answers 401, e.g. after the token expired: a new session is opened);
//   probe:   a raw POST initialize to URL with the current access token: {status, www};
// Prints {"tools": [...], "results": [...], "probes": [...], "authorizations": N,
//         "resource": the resource indicator sent, "token": the last access token}.
// Needs NODE_EXTRA_CA_CERTS for the provider's test CA.
import { readFileSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";

const url = new URL(process.argv[2]);
const steps = JSON.parse(readFileSync(process.argv[3], "utf8"));
const REDIRECT = "http://127.0.0.1:9/oauth/callback";

// Follows the authorization server's redirects (login is automatic, consent too) to the
// redirect_uri and returns the code.
async function followToCode(authorizationUrl) {
  const jar = new Map();
  let next = authorizationUrl.toString();
  for (let hop = 0; hop < 20; hop += 1) {
    if (next.startsWith(REDIRECT)) {
      const u = new URL(next);
      const code = u.searchParams.get("code");
      if (!code) throw new Error(`authorization failed: ${u.searchParams.get("error")}: ${u.searchParams.get("error_description")}`);
      return code;
    }
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
    const res = await fetch(next, { redirect: "manual", headers: cookie ? { cookie } : {} });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const eq = pair.indexOf("=");
      jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1));
    }
    const location = res.headers.get("location");
    if (res.status < 300 || res.status >= 400 || !location) {
      throw new Error(`authorization stopped at ${next}: HTTP ${res.status} ${await res.text()}`);
    }
    next = new URL(location, next).toString();
  }
  throw new Error("too many redirects");
}

class Provider {
  constructor() {
    this.authorizations = 0;
    this.pendingCode = undefined;
    this.resource = undefined;
  }
  get redirectUrl() {
    return REDIRECT;
  }
  get clientMetadata() {
    return {
      client_name: "interlock-oauth-it",
      redirect_uris: [REDIRECT],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
      application_type: "native",
    };
  }
  clientInformation() {
    return this.client;
  }
  saveClientInformation(c) {
    this.client = c;
  }
  tokens() {
    return this.savedTokens;
  }
  saveTokens(t) {
    this.savedTokens = t;
  }
  saveCodeVerifier(v) {
    this.verifier = v;
  }
  codeVerifier() {
    return this.verifier;
  }
  async redirectToAuthorization(authorizationUrl) {
    this.authorizations += 1;
    this.resource = authorizationUrl.searchParams.get("resource");
    this.pendingCode = await followToCode(authorizationUrl);
  }
}

const provider = new Provider();
let client;
let transport;

// Connects, authorizing first when the daemon asks for it (401 with resource_metadata).
async function connect() {
  for (let attempt = 0; attempt < 2; attempt += 1) {
    transport = new StreamableHTTPClientTransport(url, { authProvider: provider });
    client = new Client({ name: "interlock-oauth-it", version: "1.0.0" });
    try {
      await client.connect(transport);
      return;
    } catch (e) {
      if (!(e instanceof UnauthorizedError) || provider.pendingCode === undefined) throw e;
      const code = provider.pendingCode;
      provider.pendingCode = undefined;
      await transport.finishAuth(code);
    }
  }
  throw new Error("still unauthorized after authorizing");
}

await connect();
const listed = await client.listTools();
const results = [];
const probes = [];
for (const s of steps) {
  if (s.sleep_ms) {
    await new Promise((r) => setTimeout(r, s.sleep_ms));
  } else if (s.call) {
    let result;
    for (let attempt = 0; attempt < 2 && result === undefined; attempt += 1) {
      try {
        result = await client.callTool({ name: s.call, arguments: s.arguments ?? {} });
      } catch (e) {
        if (!(e instanceof UnauthorizedError) || attempt > 0) {
          result = { thrown: String(e.message ?? e) };
          break;
        }
        // The token expired: the SDK asked the provider to authorize again. A new
        // session under the new token.
        const code = provider.pendingCode;
        provider.pendingCode = undefined;
        if (code !== undefined) await transport.finishAuth(code);
        await client.close().catch(() => {});
        await connect();
      }
    }
    results.push(result);
  } else if (s.probe) {
    const res = await fetch(s.probe, {
      method: "POST",
      headers: {
        authorization: `Bearer ${provider.savedTokens?.access_token}`,
        accept: "application/json, text/event-stream",
        "content-type": "application/json",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "probe", version: "1" } },
      }),
    });
    probes.push({ status: res.status, www: res.headers.get("www-authenticate"), body: await res.text() });
  }
}
process.stdout.write(
  JSON.stringify({
    tools: listed.tools.map((t) => t.name).sort(),
    results,
    probes,
    authorizations: provider.authorizations,
    resource: provider.resource,
    token: provider.savedTokens?.access_token ?? null,
  }) + "\n",
);
await client.close();
