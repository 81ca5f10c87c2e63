/**
 * Runs a package's Bun unit tests under Node (`node --test`) and Deno (`deno test`): each test
 * file is bundled for Node with `bun:test` replaced by bun-test-shim.ts, then both runtimes run
 * the bundles. Usage: `bun support/runtimes/run-elsewhere.ts ../packages/core [node|deno ...]`.
 * Exits non-zero if a runtime reports a failure (or cannot start).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { basename, join, resolve } from "node:path";

const packageDir = resolve(process.argv[2] ?? "");
const runtimes = process.argv.slice(3).length > 0 ? process.argv.slice(3) : ["node", "deno"];
const root = resolve(import.meta.dir, "..", "..", "..");
const testDir = join(packageDir, "test");
const files = readdirSync(testDir)
  .filter((f) => f.endsWith(".test.ts"))
  .map((f) => join(testDir, f));
if (files.length === 0) throw new Error(`run-elsewhere: no *.test.ts in ${testDir}`);
const outdir = join(root, ".test-output", "runtimes", basename(packageDir));
rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });

const shim = join(import.meta.dir, "bun-test-shim.ts");
const built = await Bun.build({
  entrypoints: files,
  outdir,
  target: "node",
  format: "esm",
  naming: "[name].mjs",
  plugins: [
    {
      name: "bun-test-shim",
      setup(build) {
        build.onResolve({ filter: /^bun:test$/ }, () => ({ path: shim }));
      },
    },
  ],
});
if (!built.success) {
  for (const log of built.logs) console.error(log);
  process.exit(1);
}
const bundles = readdirSync(outdir)
  .filter((f) => f.endsWith(".test.mjs"))
  .map((f) => join(outdir, f));

const bin = (name: string): string => {
  const local = join(root, "node_modules", ".bin", name);
  return name === "node" ? "node" : local;
};

let failed = false;
for (const runtime of runtimes) {
  console.log(`== ${basename(packageDir)} unit tests under ${runtime} (${bundles.length} files)`);
  const args =
    runtime === "node"
      ? ["--test", "--test-reporter=spec", ...bundles]
      : ["test", "--no-lock", "--no-check", "-A", ...bundles];
  const r = spawnSync(bin(runtime), args, {
    stdio: "inherit",
    cwd: outdir,
    env: { ...process.env, NO_COLOR: "1" },
  });
  if (r.status !== 0) {
    console.error(`${runtime} exited with ${r.status ?? r.signal ?? r.error}`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
