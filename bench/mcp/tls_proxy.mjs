// A TLS front for an HTTP server on loopback, for scripts/bench-mcp-http.sh's TLS=1: an
// https:// upstream to measure what a TLS handshake per message costs against kept
// connections. Its own connections to the server are kept alive (http.Agent).
// Usage: node tls_proxy.mjs CERT_PEM KEY_PEM SERVER_PORT   (prints "listening PORT")
import fs from "node:fs";
import http from "node:http";
import https from "node:https";

const [certFile, keyFile, serverPort] = process.argv.slice(2);
const agent = new http.Agent({ keepAlive: true });
const server = https.createServer(
  { cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) },
  (req, res) => {
    const headers = { ...req.headers };
    delete headers.connection;
    const out = http.request(
      { host: "127.0.0.1", port: serverPort, path: req.url, method: req.method, headers, agent },
      (reply) => {
        res.writeHead(reply.statusCode, reply.headers);
        reply.pipe(res);
      },
    );
    out.on("error", () => res.destroy());
    req.pipe(out);
  },
);
server.listen(0, "127.0.0.1", () => console.log(`listening ${server.address().port}`));
