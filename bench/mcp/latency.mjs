// What both MCP latency benchmarks measure on a connected SDK client: 200 warm-up calls,
// then N sequential `echo` calls and N `ping`s, each's p50/p99 in microseconds. With
// `pid` (the process the client talks to: the stdio gateway), also that process's CPU
// per call in each phase, user and system (/proc/PID/stat, all its threads): both phases
// cross the same relay hops, and echo adds the decision, its record and the result.
import { readFileSync } from "node:fs";

const TICKS_PER_SECOND = 100; // USER_HZ, what /proc reports in on Linux

function cpuSeconds(pid) {
  // utime and stime, the 14th and 15th fields; the command name before them may hold spaces.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { user: Number(f[11]) / TICKS_PER_SECOND, sys: Number(f[12]) / TICKS_PER_SECOND };
}

// { ping: false } skips the ping phase (`make bench` times echo alone).
export async function measureClient(client, N, pid, { ping = true } = {}) {
  await client.listTools();
  for (let i = 0; i < 200; i++) await client.callTool({ name: "echo", arguments: { message: "warm" } });
  const time = async (fn) => {
    const before = pid ? cpuSeconds(pid) : null;
    const us = [];
    for (let i = 0; i < N; i++) {
      const t0 = process.hrtime.bigint();
      await fn(i);
      us.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
    us.sort((a, b) => a - b);
    const q = (p) => us[Math.min(us.length - 1, Math.floor(p * us.length))];
    const out = { p50: q(0.5), p99: q(0.99) };
    if (before) {
      const after = cpuSeconds(pid);
      out.cpu = { user: ((after.user - before.user) * 1e6) / N, sys: ((after.sys - before.sys) * 1e6) / N };
    }
    return out;
  };
  const echo = await time((i) => client.callTool({ name: "echo", arguments: { message: `m${i}` } }));
  if (!ping) return echo;
  return { ...echo, ping: await time(() => client.ping()) };
}
