// A scripted OpenAI-compatible model (POST /v1/chat/completions) on 127.0.0.1, port 0: it
// answers each turn with the next tool calls of the script, then a final text. The model is
// not what this example shows; set OPENAI_BASE_URL/OPENAI_API_KEY to use a real one instead.
import { createServer } from "node:http";

export async function startScriptedModel(turns) {
  let next = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      if (!req.url.endsWith("/chat/completions")) return res.writeHead(404).end();
      const n = ++next;
      const turn = turns[Math.min(n - 1, turns.length - 1)];
      const calls = (turn.toolCalls ?? []).map((c, i) => ({
        id: `call_${n}_${i}`,
        type: "function",
        function: { name: c.name, arguments: JSON.stringify(c.args) },
      }));
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({
        id: `chatcmpl-${n}`,
        object: "chat.completion",
        created: Math.floor(Date.now() / 1000),
        model: "scripted",
        choices: [{
          index: 0,
          finish_reason: calls.length ? "tool_calls" : "stop",
          message: { role: "assistant", content: calls.length ? null : turn.text, ...(calls.length ? { tool_calls: calls } : {}) },
        }],
        usage: { prompt_tokens: 900, completion_tokens: 100, total_tokens: 1000 },
      }));
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${server.address().port}/v1`, close: () => server.close() };
}
