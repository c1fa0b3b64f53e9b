// Benchmark issuer for scripts/bench-identity-daemon.sh: an https OIDC discovery document
// and JWK Set on 127.0.0.1 (port 0) with one ES256 key made on the spot, and one token
// signed with it. Usage: node jwks_server.mjs CERT KEY SUB
// Prints {"issuer": ..., "token": ...} once listening; exits when stdin closes.
import { readFileSync } from "node:fs";
import https from "node:https";
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign } from "node:crypto";

const [cert, key, sub] = process.argv.slice(2);
// Keys leave the generator as PEM and are imported again before the JWK export (exporting
// a generated KeyObject can deadlock Node 20: tests/idp/idp.mjs, newJwk).
const pems = generateKeyPairSync("ec", {
  namedCurve: "P-256",
  privateKeyEncoding: { type: "pkcs8", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
});
const privateKey = createPrivateKey(pems.privateKey);
const publicKey = createPublicKey(pems.publicKey);
const jwk = { ...publicKey.export({ format: "jwk" }), kid: "bench-1", alg: "ES256", use: "sig" };
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");

const server = https.createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (req, res) => {
  res.setHeader("content-type", "application/json");
  if (req.url === "/.well-known/openid-configuration") {
    res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
  } else if (req.url === "/jwks") {
    res.end(JSON.stringify({ keys: [jwk] }));
  } else {
    res.statusCode = 404;
    res.end("{}");
  }
});
let issuer = "";
server.listen(0, "127.0.0.1", () => {
  issuer = `https://127.0.0.1:${server.address().port}`;
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64({ alg: "ES256", kid: "bench-1", typ: "JWT" })}.${b64({
    iss: issuer, aud: "interlock", sub, iat: now, exp: now + 3600 })}`;
  const sig = sign("sha256", Buffer.from(input), { key: privateKey, dsaEncoding: "ieee-p1363" });
  process.stdout.write(`${JSON.stringify({ issuer, token: `${input}.${sig.toString("base64url")}` })}\n`);
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
