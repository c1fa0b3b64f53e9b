// A real OpenID provider (npm `oidc-provider`, pinned in package-lock.json) on 127.0.0.1
// for the identity tests: reviewer sign-in (authorization code + PKCE) and MCP clients
// authorizing with OAuth 2.1 (dynamic client registration, resource indicators, JWT
// access tokens whose `aud` is the resource).
//
//   node tests/idp/idp.mjs [--cert FILE --key FILE] [--accounts FILE] [--auto-login SUB]
//                          [--client ID:SECRET:REDIRECT_URI]... [--resource-prefix URL]
//                          [--access-token-ttl SECONDS] [--native-client ID:SECRET:REDIRECT_URI]...
//                          [--exchange-client ID:SECRET]... [--exchange-scopes "S1 S2 ..."]
//                          [--exchange-ttl SECONDS]
//
// Listens on 127.0.0.1, port 0 (https with --cert/--key, else http), then prints one line
// of JSON to stdout: {"issuer": "https://127.0.0.1:PORT", "port": PORT}. Exits when stdin
// closes (so a test that dies never leaves it behind) or on SIGTERM.
//
// Sign-in: GET /interaction/UID shows a form with one field, `login` (an account's
// subject); POST it to sign in. Consent is granted automatically for what the client
// asked. With --auto-login SUB the form is skipped and SUB signs in (for clients that
// cannot fill a form, e.g. the MCP SDK's OAuth test). An unknown login is refused with the
// form again (no account is created).
//
// --native-client registers a confidential client of application_type "native": its
// http://127.0.0.1 redirect URI matches on any port (RFC 8252 section 7.3, as oidc-provider
// implements it), for the daemon's reviewer sign-in on a port chosen at bind time.
//
// Upstream credentials (docs/identity.md#upstream-credentials): --exchange-client registers
// a confidential client (client_secret_basic) that may use two grants, both answering JWT
// access tokens signed with the provider's RS256 key (so its JWKS verifies them):
//  - token exchange (RFC 8693, urn:ietf:params:oauth:grant-type:token-exchange): the
//    subject_token must be a JWT this provider signed (a workload token from
//    POST /test/workload-token), unexpired; the answer's sub is the token's on_behalf_of
//    (else its sub), act.sub the token's sub, aud the `audience` asked for, scope the
//    scopes asked for (each must be in --exchange-scopes, else invalid_scope).
//  - client credentials: sub and client_id the client, aud the `audience` asked for.
// Test-only endpoints: POST /test/workload-token {sub, on_behalf_of, aud, ttl} signs a
// workload token; POST /test/mode {"mode": "ok" | "refuse" | "slow" | "broad" | "wrong-aud"}
// makes both grants answer normally, refuse (invalid_grant), wait 30 s, grant a scope
// not asked for, or issue a token for another audience; GET /test/stats counts the grants
// answered ({"token_exchange": N, "client_credentials": N}). Modes that write the grant in
// the shapes real providers use, each broader or staler than asked and with an answer that
// does not say so: "scope-array" (scope as an array), "scp" (an scp array claim),
// "extra-aud" (aud naming a second resource), "oversized" (claims over 16 KiB),
// "duplicate-key" (scope twice), "expired-float" / "expired-string" (exp an hour ago as a
// float / a string); "quote-secret" refuses with an error_description quoting the secret.
//
// Accounts (--accounts FILE, JSON {sub: {name, email, groups}}) default to:
//   alice (groups: reviewers), bob (groups: reviewers), carol (groups: admins),
//   mallory (no groups).
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';
import { CompactSign, SignJWT, jwtVerify, importJWK } from 'jose';

function parseArgs(argv) {
  const opts = {
    clients: [], resourcePrefix: 'http://127.0.0.1', accessTokenTtl: 600,
    exchangeClients: [], assertionClients: [], exchangeScopes: ['repo:read', 'repo:write'], exchangeTtl: 300,
  };
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      i += 1;
      return argv[i];
    };
    if (a === '--cert') opts.cert = next();
    else if (a === '--key') opts.key = next();
    else if (a === '--accounts') opts.accounts = next();
    else if (a === '--auto-login') opts.autoLogin = next();
    else if (a === '--resource-prefix') opts.resourcePrefix = next();
    else if (a === '--access-token-ttl') opts.accessTokenTtl = Number(next());
    else if (a === '--exchange-ttl') opts.exchangeTtl = Number(next());
    else if (a === '--exchange-scopes') opts.exchangeScopes = next().split(' ').filter(Boolean);
    else if (a === '--exchange-client') {
      const v = next();
      const colon = v.indexOf(':');
      if (colon < 0) throw new Error('--exchange-client wants ID:SECRET');
      opts.exchangeClients.push({ client_id: v.slice(0, colon), client_secret: v.slice(colon + 1) });
    }
    else if (a === '--assertion-client') {
      // ID:PUBLIC_KEY_PEM_FILE: a client of both grants that authenticates with
      // private_key_jwt (RFC 7523), its key registered as a JWKS.
      const v = next();
      const colon = v.indexOf(':');
      if (colon < 0) throw new Error('--assertion-client wants ID:PUBLIC_KEY_PEM_FILE');
      const jwk = createPublicKey(readFileSync(v.slice(colon + 1))).export({ format: 'jwk' });
      opts.assertionClients.push({ client_id: v.slice(0, colon), jwks: { keys: [jwk] } });
    }
    else if (a === '--client' || a === '--native-client') {
      const v = next();
      const first = v.indexOf(':');
      const second = v.indexOf(':', first + 1);
      if (first < 0 || second < 0) throw new Error('--client wants ID:SECRET:REDIRECT_URI');
      opts.clients.push({
        client_id: v.slice(0, first),
        client_secret: v.slice(first + 1, second),
        redirect_uris: [v.slice(second + 1)],
        ...(a === '--native-client' ? { application_type: 'native' } : {}),
      });
    } else throw new Error(`unknown argument ${a}`);
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const accounts = opts.accounts
  ? JSON.parse(readFileSync(opts.accounts, 'utf8'))
  : {
      alice: { name: 'Alice Reviewer', email: 'alice@test.local', groups: ['reviewers'] },
      bob: { name: 'Bob Reviewer', email: 'bob@test.local', groups: ['reviewers'] },
      carol: { name: 'Carol Admin', email: 'carol@test.local', groups: ['admins'] },
      mallory: { name: 'Mallory', email: 'mallory@test.local', groups: [] },
    };

// A new private key as a JWK. The key leaves the generator as PEM and is imported again
// before the JWK export: exporting the KeyObject that generateKeyPairSync returned
// deadlocks Node 20 now and then (the export holds the key's lock; a garbage collection
// during it finalises the key's generation job, whose destructor takes the same lock). In
// CI the provider hung before listening, and its tests failed ("did not start").
function newJwk(type, options) {
  const { privateKey } = generateKeyPairSync(type, {
    ...options,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return createPrivateKey(privateKey).export({ format: 'jwk' });
}

function signingKeys() {
  const rsa = newJwk('rsa', { modulusLength: 2048 });
  const ec = newJwk('ec', { namedCurve: 'P-256' });
  return [
    { ...rsa, kid: `rs-${randomBytes(4).toString('hex')}`, alg: 'RS256', use: 'sig' },
    { ...ec, kid: `es-${randomBytes(4).toString('hex')}`, alg: 'ES256', use: 'sig' },
  ];
}
const keys = signingKeys();

// ---- Upstream credentials: token exchange and client credentials (see the top).
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const control = { mode: 'ok', stats: { token_exchange: 0, client_credentials: 0 } };
let rsaPrivate;
let rsaPublic;
async function rsaKeys() {
  if (!rsaPrivate) {
    const { d, p, q, dp, dq, qi, ...pub } = keys[0];
    rsaPrivate = await importJWK(keys[0], 'RS256');
    rsaPublic = await importJWK(pub, 'RS256');
  }
  return { priv: rsaPrivate, pub: rsaPublic };
}

async function sign(issuer, claims, ttl) {
  const { priv } = await rsaKeys();
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: keys[0].kid, typ: 'at+jwt' })
    .setIssuer(issuer)
    .setIssuedAt()
    .setJti(randomBytes(12).toString('hex'))
    .setExpirationTime(`${ttl}s`)
    .sign(priv);
}

function grantError(ctx, status, error, description) {
  ctx.status = status;
  ctx.body = { error, error_description: description };
}

// The scopes asked for, each one this provider grants; null after answering invalid_scope.
function askedScopes(ctx) {
  const asked = (ctx.oidc.params.scope || '').split(' ').filter(Boolean);
  for (const s of asked) {
    if (!opts.exchangeScopes.includes(s)) {
      grantError(ctx, 400, 'invalid_scope', `scope ${s} is not granted here`);
      return null;
    }
  }
  return asked;
}

// Applies the test mode; true when the grant was answered (or delayed) by it.
async function applyMode(ctx) {
  if (control.mode === 'refuse') {
    grantError(ctx, 400, 'invalid_grant', 'the test provider refuses every grant');
    return true;
  }
  if (control.mode === 'quote-secret') {
    // A provider whose error text quotes what the client sent it.
    const c = ctx.oidc.client;
    grantError(ctx, 400, 'invalid_client',
               `client ${c.clientId} authenticated with secret ${c.clientSecret}, which is wrong`);
    return true;
  }
  if (control.mode === 'slow') await new Promise((r) => { setTimeout(r, 30000); });
  return false;
}

// A JWT over claims written as raw JSON text (a duplicate key, a float or string exp), signed
// with the provider's key like every token it issues.
async function signRaw(text) {
  const { priv } = await rsaKeys();
  return new CompactSign(new TextEncoder().encode(text))
    .setProtectedHeader({ alg: 'RS256', kid: keys[0].kid, typ: 'at+jwt' })
    .sign(priv);
}

// The grant written in the shapes real providers use, each one broader or staler than
// asked, with an answer that does not say so (see /test/mode at the top).
async function answerMisshapen(ctx, claims, asked) {
  const now = Math.floor(Date.now() / 1000);
  const base = {
    ...claims,
    iss: ctx.oidc.provider.issuer,
    iat: now,
    exp: now + opts.exchangeTtl,
    jti: randomBytes(12).toString('hex'),
    client_id: ctx.oidc.client.clientId,
  };
  const broad = [...asked, 'admin'];
  let text;
  if (control.mode === 'scope-array') {
    text = JSON.stringify({ ...base, scope: broad });
  } else if (control.mode === 'scp') {
    text = JSON.stringify({ ...base, scope: asked.join(' '), scp: broad });
  } else if (control.mode === 'extra-aud') {
    text = JSON.stringify({
      ...base, scope: asked.join(' '), aud: [claims.aud, `${opts.resourcePrefix}/somewhere-else`],
    });
  } else if (control.mode === 'oversized') {
    text = JSON.stringify({ ...base, scope: broad.join(' '), pad: 'x'.repeat(17 * 1024) });
  } else if (control.mode === 'duplicate-key') {
    // Read by a strict parser: refused; by JSON.parse (the upstream): the last one wins.
    const t = JSON.stringify({ ...base, scope: asked.join(' ') });
    text = `${t.slice(0, -1)},"scope":${JSON.stringify(broad.join(' '))}}`;
  } else if (control.mode === 'expired-float') {
    text = JSON.stringify({ ...base, scope: asked.join(' '), iat: now - 7200, exp: now - 3600.5 });
  } else {  // expired-string
    text = JSON.stringify({ ...base, scope: asked.join(' '), iat: now - 7200, exp: String(now - 3600) });
  }
  ctx.body = { access_token: await signRaw(text), token_type: 'Bearer', expires_in: opts.exchangeTtl };
  if (control.mode === 'scp' || control.mode === 'extra-aud') ctx.body.scope = asked.join(' ');
}

const MISSHAPEN = new Set(['scope-array', 'scp', 'extra-aud', 'oversized', 'duplicate-key',
                           'expired-float', 'expired-string']);

async function answer(ctx, claims, asked) {
  if (MISSHAPEN.has(control.mode)) return answerMisshapen(ctx, claims, asked);
  const scope = control.mode === 'broad' ? [...asked, 'admin'].join(' ') : asked.join(' ');
  if (control.mode === 'wrong-aud') claims.aud = `${opts.resourcePrefix}/somewhere-else`;
  const issuer = ctx.oidc.provider.issuer;
  const token = await sign(issuer, { ...claims, scope, client_id: ctx.oidc.client.clientId },
                           opts.exchangeTtl);
  ctx.body = {
    access_token: token,
    token_type: 'Bearer',
    expires_in: opts.exchangeTtl,
    ...(scope ? { scope } : {}),
  };
}

async function tokenExchange(ctx) {
  if (await applyMode(ctx)) return;
  const p = ctx.oidc.params;
  if (p.subject_token_type !== 'urn:ietf:params:oauth:token-type:jwt' &&
      p.subject_token_type !== 'urn:ietf:params:oauth:token-type:access_token') {
    return grantError(ctx, 400, 'invalid_request', 'unsupported subject_token_type');
  }
  if (!p.audience) return grantError(ctx, 400, 'invalid_target', 'audience is required');
  let subject;
  try {
    const { pub } = await rsaKeys();
    ({ payload: subject } = await jwtVerify(p.subject_token, pub,
                                            { issuer: ctx.oidc.provider.issuer }));
  } catch (err) {
    return grantError(ctx, 400, 'invalid_grant', `subject_token: ${err.code || err.message}`);
  }
  const asked = askedScopes(ctx);
  if (!asked) return undefined;
  control.stats.token_exchange += 1;
  return answer(ctx, {
    sub: subject.on_behalf_of || subject.sub,
    act: { sub: subject.sub },
    aud: p.audience,
  }, asked);
}

async function clientCredentials(ctx) {
  if (await applyMode(ctx)) return;
  const asked = askedScopes(ctx);
  if (!asked) return undefined;
  control.stats.client_credentials += 1;
  const aud = ctx.oidc.params.audience;
  return answer(ctx, { sub: ctx.oidc.client.clientId, ...(aud ? { aud } : {}) }, asked);
}

async function testEndpoint(req, res, issuer) {
  const path = req.url.split('?')[0];
  const reply = (status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (path === '/test/stats') return reply(200, control.stats);
  let body = '';
  for await (const chunk of req) body += chunk;
  const v = body ? JSON.parse(body) : {};
  if (path === '/test/mode') {
    control.mode = v.mode;
    return reply(200, { mode: control.mode });
  }
  if (path === '/test/workload-token') {
    const claims = { sub: v.sub, aud: v.aud || 'interlock' };
    if (v.on_behalf_of) claims.on_behalf_of = v.on_behalf_of;
    return reply(200, { token: await sign(issuer, claims, v.ttl || 600) });
  }
  return reply(404, { error: 'not found' });
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function loginForm(uid, error) {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Test IdP sign-in</title></head>
<body><h1>Test IdP</h1>${error ? `<p id="error">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}">
<label>Login <input name="login" id="login" autofocus></label>
<button type="submit" id="submit">Sign in</button></form></body></html>`;
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 4096) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

// Grants what the client asked for (the test IdP's consent is automatic).
async function grantConsent(provider, details) {
  const { prompt, params, session } = details;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const d = prompt.details;
  if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
  if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
  if (d.missingResourceScopes) {
    for (const [indicator, scopes] of Object.entries(d.missingResourceScopes)) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
  }
  return grant.save();
}

async function interaction(provider, req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name === 'login') {
    let login = opts.autoLogin;
    if (!login && req.method === 'POST') login = (await readForm(req)).get('login') || '';
    if (!login) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(loginForm(uid));
      return;
    }
    if (!Object.hasOwn(accounts, login)) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(loginForm(uid, `no account ${login}`));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: login } },
                                       { mergeWithLastSubmission: false });
    return;
  }
  const grantId = await grantConsent(provider, details);
  await provider.interactionFinished(req, res, { consent: { grantId } },
                                     { mergeWithLastSubmission: true });
}

const tls = opts.cert ? { cert: readFileSync(opts.cert), key: readFileSync(opts.key) } : null;
let handler = (_req, res) => {
  res.writeHead(503);
  res.end();
};
const server = tls
  ? https.createServer(tls, (req, res) => handler(req, res))
  : http.createServer((req, res) => handler(req, res));

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [
      ...opts.clients.map((c) => ({
        ...c,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      })),
      ...opts.exchangeClients.map((c) => ({
        ...c,
        grant_types: ['client_credentials', TOKEN_EXCHANGE],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
      })),
      ...opts.assertionClients.map((c) => ({
        ...c,
        grant_types: ['client_credentials', TOKEN_EXCHANGE],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'private_key_jwt',
      })),
    ],
    jwks: { keys },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    findAccount: async (_ctx, sub) => {
      if (!Object.hasOwn(accounts, sub)) return undefined;
      const a = accounts[sub];
      return {
        accountId: sub,
        claims: async () => ({ sub, name: a.name, email: a.email, groups: a.groups || [] }),
      };
    },
    claims: { openid: ['sub'], profile: ['name'], email: ['email'], groups: ['groups'] },
    scopes: ['openid', 'profile', 'email', 'groups', 'offline_access', 'mcp'],
    // The ID token carries the profile claims (the daemon reads groups from it).
    conformIdTokenClaims: false,
    interactions: { url: (_ctx, i) => `/interaction/${i.uid}` },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      registration: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx, _client, oneOf) => oneOf,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, resource) => {
          if (!resource.startsWith(opts.resourcePrefix)) {
            throw new Provider.errors.InvalidTarget(`resource ${resource} is not served here`);
          }
          return {
            scope: 'mcp',
            audience: resource,
            accessTokenTTL: opts.accessTokenTtl,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    pkce: { required: () => true },
    ttl: { AccessToken: opts.accessTokenTtl, IdToken: 600, Session: 3600, Interaction: 600, Grant: 3600 },
  });
  provider.registerGrantType(TOKEN_EXCHANGE, tokenExchange,
                             ['subject_token', 'subject_token_type', 'requested_token_type',
                              'audience', 'scope', 'resource', 'actor_token', 'actor_token_type']);
  provider.registerGrantType('client_credentials', clientCredentials, ['scope', 'audience']);
  const callback = provider.callback();
  handler = (req, res) => {
    if (req.url.startsWith('/test/')) {
      testEndpoint(req, res, issuer).catch((err) => {
        res.writeHead(500);
        res.end(String(err));
      });
      return;
    }
    const m = /^\/interaction\/([A-Za-z0-9_-]+)$/.exec(req.url.split('?')[0]);
    if (!m) {
      callback(req, res);
      return;
    }
    interaction(provider, req, res, m[1]).catch((err) => {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(`interaction failed: ${err.message}: ${err.error_description || ""}`);
    });
  };
  process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);
});

process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));
