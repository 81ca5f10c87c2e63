// Package checks of `make test`: every library package (packages/*, not private) is built, packed
// with `npm pack`, linted as packed with publint and @arethetypeswrong/cli, and installed from
// its tarball with npm into a temporary Node project, where consumer/app.ts is type-checked by
// strict tsc (NodeNext and Bundler, skipLibCheck off) and run with plain node, Deno and Bun
// against a real redis-server started by the harness.
//
// Prints one line per check ("ok ..." / "FAIL ...", a failure followed by its output) and
// ends with "package checks: N ok, N failed"; exits 1 on any failure.
// Run: bun scripts/package-checks/run.ts   (AUTHCACHE_KEEP_CONSUMER=1 keeps the temp project)
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, type TestServer } from "../test-servers/src/index.ts";

const root = join(import.meta.dir, "..", "..");
const bin = (name: string) => join(root, "node_modules", ".bin", name);
const STEP_TIMEOUT_MS = 180_000;
const APP_TIMEOUT_MS = 60_000;

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  exports?: Record<string, unknown>;
}

let ok = 0;
let failed = 0;

let lastMark = performance.now();

function record(pass: boolean, name: string, detail = ""): boolean {
  const took = `(${((performance.now() - lastMark) / 1000).toFixed(1)} s)`;
  lastMark = performance.now();
  if (pass) {
    ok++;
    console.log(`ok   ${name} ${took}`);
  } else {
    failed++;
    console.log(`FAIL ${name} ${took}`);
    const text = detail.trim();
    if (text !== "")
      console.log(
        text
          .split("\n")
          .slice(-60)
          .map((l) => `     ${l}`)
          .join("\n"),
      );
  }
  return pass;
}

function run(
  cmd: string,
  args: string[],
  cwd: string,
  opts: { timeoutMs?: number; env?: Record<string, string> } = {},
): SpawnSyncReturns<string> & { output_: string; timedOut: boolean } {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: opts.timeoutMs ?? STEP_TIMEOUT_MS,
    killSignal: "SIGKILL",
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0", ...opts.env },
    maxBuffer: 64 * 1024 * 1024,
  });
  const timedOut = r.error !== undefined && (r.error as NodeJS.ErrnoException).code === "ETIMEDOUT";
  const output_ = `${r.stdout ?? ""}${r.stderr ?? ""}${r.error && !timedOut ? `\n${r.error.message}` : ""}${
    timedOut ? `\n(killed: still running after ${opts.timeoutMs ?? STEP_TIMEOUT_MS} ms)` : ""
  }`;
  return Object.assign(r, { output_, timedOut });
}

const passed = (r: { status: number | null; timedOut: boolean }) => r.status === 0 && !r.timedOut;

/** Every publishable package under packages/, read fresh (new packages are picked up). */
function libraryPackages(): { dir: string; manifest: Manifest }[] {
  const out: { dir: string; manifest: Manifest }[] = [];
  for (const name of readdirSync(join(root, "packages")).sort()) {
    const dir = join(root, "packages", name);
    const file = join(dir, "package.json");
    if (!existsSync(file)) continue;
    const manifest = JSON.parse(readFileSync(file, "utf8")) as Manifest;
    if (manifest.private === true) continue;
    out.push({ dir, manifest });
  }
  return out;
}

const packages = libraryPackages();
const names = new Set(packages.map((p) => p.manifest.name));
console.log(`package checks: ${packages.length} library packages: ${[...names].join(", ")}`);

// --- build (turbo: dependencies first, cached) ------------------------------------------------
const build = run(
  bin("turbo"),
  [
    "run",
    "build",
    "--output-logs=errors-only",
    ...packages.map((p) => `--filter=${p.manifest.name}`),
  ],
  root,
  { env: { TURBO_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" } },
);
if (!record(passed(build), "build (turbo run build)", build.output_)) finish();

// --- pack, and what was packed ----------------------------------------------------------------
const work = mkdtempSync(join(tmpdir(), "authcache-package-checks-"));
const packs = join(work, "packs");
mkdirSync(packs);
const tarballs = new Map<string, string>();
for (const { dir, manifest } of packages) {
  // Scripts off: dist/ was just built by turbo; `prepack` builds it for a publish.
  const r = run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", packs], dir);
  let problem = passed(r) ? "" : r.output_;
  let tarball = "";
  if (problem === "") {
    try {
      const info = JSON.parse(r.stdout) as { filename: string; files: { path: string }[] }[];
      tarball = join(packs, info[0]?.filename ?? "");
      const files = new Set(info[0]?.files.map((f) => f.path));
      const packed = JSON.parse(
        run("tar", ["-xzOf", tarball, "package/package.json"], packs).stdout,
      ) as Manifest;
      const ranges = [
        packed.dependencies,
        packed.devDependencies,
        packed.peerDependencies,
        packed.optionalDependencies,
      ].flatMap((deps) => Object.entries(deps ?? {}));
      const local = ranges.filter(([, v]) => /^(workspace|file|link|portal):/.test(v));
      if (local.length > 0)
        problem = `packed package.json has local ranges: ${local.map(([k, v]) => `${k}@${v}`).join(", ")}`;
      const raw = packed as unknown as Record<string, unknown>;
      for (const field of [
        "license",
        "repository",
        "engines",
        "sideEffects",
        "publishConfig",
        "files",
      ])
        if (raw[field] === undefined) problem += `\npackage.json has no "${field}"`;
      for (const [sub, target] of Object.entries(packed.exports ?? {})) {
        if (sub === "./package.json") continue;
        const t = target as Record<string, unknown>;
        if (typeof t.types !== "string" || !/^\.\/dist\/.*\.d\.ts$/.test(t.types))
          problem += `\nexports["${sub}"].types should be a dist/*.d.ts file`;
        if (typeof t.import !== "string" || !t.import.startsWith("./dist/"))
          problem += `\nexports["${sub}"].import should be a dist/ file`;
      }
      for (const must of ["dist/index.js", "dist/index.d.ts", "src/index.ts", "README.md"])
        if (!files.has(must)) problem += `\n${must} is not in the tarball`;
      for (const f of files)
        if (/(^|\/)test\/|\.test\.ts$|tsconfig/.test(f))
          problem += `\n${f} should not be in the tarball`;
    } catch (e) {
      problem = `${r.output_}\n${String(e)}`;
    }
  }
  if (record(problem === "", `npm pack ${manifest.name}`, problem))
    tarballs.set(manifest.name, tarball);
}

// --- publint and attw on the tarballs --------------------------------------------------------
for (const [name, tarball] of tarballs) {
  const r = run(bin("publint"), ["run", tarball, "--strict", "--pack", "false"], packs);
  record(
    passed(r) && !/\b(error|warning)s?\b/i.test(r.stdout.replace(/^Running.*$/m, "")),
    `publint ${name}`,
    r.output_,
  );
}
for (const [name, tarball] of tarballs) {
  // ESM only, on purpose: a require() from CommonJS gets a clear ERR_REQUIRE_ESM (Node 20), so
  // that one finding is not an error. Everything else (node10, node16 ESM, bundler) must pass.
  const r = run(
    bin("attw"),
    [
      tarball,
      "--ignore-rules",
      "cjs-resolves-to-esm",
      "--format",
      "ascii",
      "--no-emoji",
      "--no-color",
    ],
    packs,
  );
  record(passed(r), `attw ${name}`, r.output_);
}

// --- consumer project ----------------------------------------------------------------------
let server: TestServer | undefined;
try {
  if (tarballs.size === packages.length) await consumer();
  else record(false, "consumer (skipped: not every package packed)");
} finally {
  await server?.stop();
  if (process.env.AUTHCACHE_KEEP_CONSUMER === "1") console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
finish();

async function consumer(): Promise<void> {
  const app = join(work, "app");
  mkdirSync(app);
  const rootManifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as Manifest;
  const deps: Record<string, string> = {};
  for (const { manifest } of packages) {
    deps[manifest.name] = `file:${tarballs.get(manifest.name)}`;
    // Peers a user installs: the versions this repository tests with (its devDependencies).
    for (const [peer, range] of Object.entries(manifest.peerDependencies ?? {}))
      if (!names.has(peer)) deps[peer] ??= manifest.devDependencies?.[peer] ?? range;
  }
  deps["@types/node"] = rootManifest.devDependencies?.["@types/node"] ?? "20";
  writeFileSync(
    join(app, "package.json"),
    `${JSON.stringify({ name: "authcache-consumer", private: true, type: "module", dependencies: deps }, null, 2)}\n`,
  );
  const install = run(
    "npm",
    ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"],
    app,
  );
  if (!record(passed(install), "npm install of the tarballs (and their peers)", install.output_))
    return;

  // The app, and a module that imports every package (so every package's types are checked
  // and every package is loaded by each runtime).
  copyFileSync(join(import.meta.dir, "consumer", "app.ts"), join(app, "app.ts"));
  // Every entry point: each package's "." and its other subpaths ("./package.json" aside).
  const list = packages.flatMap(({ manifest }) =>
    Object.keys(manifest.exports ?? { ".": "" })
      .filter((sub) => sub !== "./package.json" && !sub.includes("*"))
      .map((sub) => (sub === "." ? manifest.name : `${manifest.name}/${sub.slice(2)}`)),
  );
  writeFileSync(
    join(app, "all-packages.ts"),
    [
      "// Generated by scripts/package-checks/run.ts: every entry point of every library package.",
      ...list.map((n, i) => `import * as p${i} from "${n}";`),
      "",
      `const modules: [string, object][] = [${list.map((n, i) => `["${n}", p${i}]`).join(", ")}];`,
      "export const loaded: string[] = [];",
      "for (const [name, mod] of modules) {",
      '  if (Object.keys(mod).length === 0) throw new Error(name + " exports nothing");',
      "  loaded.push(name);",
      "}",
      "",
    ].join("\n"),
  );
  const strict = {
    target: "ES2022",
    lib: ["ES2023"],
    types: ["node"],
    strict: true,
    skipLibCheck: false,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    noImplicitOverride: true,
    verbatimModuleSyntax: true,
    isolatedModules: true,
  };
  const configs = {
    NodeNext: {
      ...strict,
      module: "NodeNext",
      moduleResolution: "NodeNext",
      outDir: "out",
      rootDir: ".",
    },
    Bundler: { ...strict, module: "ESNext", moduleResolution: "Bundler", noEmit: true },
  };
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  let compiled = false;
  for (const [mode, compilerOptions] of Object.entries(configs)) {
    const file = `tsconfig.${mode.toLowerCase()}.json`;
    writeFileSync(
      join(app, file),
      JSON.stringify({ compilerOptions, files: ["app.ts", "all-packages.ts"] }, null, 2),
    );
    const r = run("node", [tsc, "-p", file, "--pretty", "false", "--listFiles"], app);
    // The declarations, never the TypeScript sources the tarballs also carry.
    const program = r.stdout.split("\n").filter((l) => l.includes("/node_modules/@authcache/"));
    const wrong = program.filter((l) => !/\/dist\/.+\.d\.ts$/.test(l));
    const problem =
      program.length === 0
        ? "no @authcache declaration file was in the program"
        : wrong.length > 0
          ? `files other than dist/*.d.ts in the program:\n${wrong.join("\n")}`
          : "";
    const errors = r.stdout
      .split("\n")
      .filter((l) => !l.startsWith("/"))
      .join("\n");
    const pass = record(
      passed(r) && problem === "",
      `tsc strict, ${mode}, skipLibCheck false (${program.length} @authcache declaration files)`,
      `${errors}\n${r.stderr}\n${problem}`,
    );
    if (mode === "NodeNext") compiled = pass;
  }

  // Started only now: nothing to start when the install failed.
  server = await startServer("redis");
  const runtimes: [string, string, string[]][] = [
    ["node (compiled by tsc NodeNext)", "node", [join("out", "app.js")]],
    ["deno (the same compiled app)", bin("deno"), ["run", "-A", join("out", "app.js")]],
    ["bun", process.execPath, ["app.ts"]],
  ];
  writeFileSync(join(app, "deno.json"), `${JSON.stringify({ nodeModulesDir: "manual" })}\n`);
  for (const [label, cmd, args] of runtimes) {
    if (!label.startsWith("bun") && !compiled) {
      record(false, `run on ${label}`, "not run: the NodeNext compile failed");
      continue;
    }
    const r = run(cmd, args, app, {
      timeoutMs: APP_TIMEOUT_MS,
      env: { AUTHCACHE_REDIS_URL: server.url, DENO_NO_UPDATE_CHECK: "1" },
    });
    const pass = passed(r) && /consumer app ok on/.test(r.stdout);
    record(
      pass,
      `run on ${label}: set, get, invalidate across two instances, close, exit by itself`,
      r.output_,
    );
    if (pass) console.log(`     ${r.stdout.trim().split("\n").at(-1)}`);
  }
}

function finish(): never {
  console.log(`package checks: ${ok} ok, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}
