// The hand-written declarations (clients/typescript/src/*.d.ts) checked by the pinned tsc:
// against a usage file, and against the real frameworks' tool types.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const tsc = path.join(here, "node_modules", "typescript", "bin", "tsc");

function compile(project) {
  try {
    execFileSync(process.execPath, [tsc, "-p", project], { encoding: "utf8", timeout: 240_000 });
  } catch (err) {
    assert.fail(`tsc -p ${project}:\n${err.stdout}${err.stderr}`);
  }
}

test("Types.DeclarationsDescribeTheDocumentedApi", () => {
  compile(path.join(here, "..", "..", "..", "..", "clients", "typescript", "tsconfig.json"));
});

test("Types.AdaptersAcceptTheRealFrameworksTools", () => {
  compile(path.join(here, "tsconfig.json"));
});
