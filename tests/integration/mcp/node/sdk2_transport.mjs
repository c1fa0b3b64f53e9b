// The transport of the SDK 2.x test clients (sdk2_*.mjs), from their command line: with
// `--url URL` Streamable HTTP carrying INTERLOCK_TOKEN as the bearer token, otherwise the
// command after `--` started over stdio (its stderr shown, the environment passed on).
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";

export function transportFromArgv(argv = process.argv) {
  const urlAt = argv.indexOf("--url");
  if (urlAt > 0) {
    return new StreamableHTTPClientTransport(new URL(argv[urlAt + 1]), {
      requestInit: { headers: { Authorization: `Bearer ${process.env.INTERLOCK_TOKEN ?? ""}` } },
    });
  }
  const cmd = argv.slice(argv.indexOf("--") + 1);
  return new StdioClientTransport({
    command: cmd[0], args: cmd.slice(1), env: { ...process.env }, stderr: "inherit",
  });
}
