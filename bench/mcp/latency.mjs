// What both MCP latency benchmarks measure on a connected SDK client: 200 warm-up calls,
// then N sequential `echo` calls and N `ping`s, each's p50/p99 in microseconds.
export async function measureClient(client, N) {
  await client.listTools();
  for (let i = 0; i < 200; i++) await client.callTool({ name: "echo", arguments: { message: "warm" } });
  const time = async (fn) => {
    const us = [];
    for (let i = 0; i < N; i++) {
      const t0 = process.hrtime.bigint();
      await fn(i);
      us.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
    us.sort((a, b) => a - b);
    const q = (p) => us[Math.min(us.length - 1, Math.floor(p * us.length))];
    return { p50: q(0.5), p99: q(0.99) };
  };
  const echo = await time((i) => client.callTool({ name: "echo", arguments: { message: `m${i}` } }));
  const ping = await time(() => client.ping());
  return { ...echo, ping };
}
