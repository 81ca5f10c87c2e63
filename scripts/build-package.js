#!/usr/bin/env node
// Builds one library package (the current directory) to dist/: ESM JavaScript and .d.ts from
// src/ with the package's tsconfig.build.json. Run by each package's `build` and `prepack`
// scripts, so `npm pack`, `npm publish`, `bun pm pack` and `changeset publish` ship fresh output.
//
// The sources import each other with `.ts` extensions (Bun, Deno and Node's type stripping run
// them as they are). tsc rewrites those to `.js` in the JavaScript it emits
// (rewriteRelativeImportExtensions) but not in declaration files, and a `.d.ts` that imports
// "./x.ts" is refused by older TypeScript and mis-resolved by some tools. So after tsc, every
// relative `.ts` specifier in dist/ is rewritten to `.js`, and the build fails if one is left.
// Runs on Node 20+ and Bun; needs nothing but `typescript`, resolved from the package.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, relative } from "node:path";

const pkgDir = process.cwd();
const dist = join(pkgDir, "dist");
const project = process.argv[2] ?? "tsconfig.build.json";

rmSync(dist, { recursive: true, force: true });

const require = createRequire(join(pkgDir, "package.json"));
const tsc = require.resolve("typescript/bin/tsc");
const run = spawnSync(process.execPath, [tsc, "-p", project], { stdio: "inherit", cwd: pkgDir });
if (run.status !== 0) {
  console.error(
    `build-package: tsc -p ${project} failed in ${pkgDir}` +
      " (a package that imports another @authcache package type-checks against that one's dist/:" +
      " `make build` builds them all, dependencies first)",
  );
  process.exit(run.status ?? 1);
}

// A relative specifier ending in .ts inside an import/export/import() in emitted files.
const specifier = /((?:from|import)\s*\(?\s*)(["'])(\.{1,2}\/[^"'\n]*?)\.ts\2/g;
const leftover = /(?:from|import)\s*\(?\s*["']\.{1,2}\/[^"'\n]*?\.ts["']/;

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else yield path;
  }
}

let rewritten = 0;
const bad = [];
for (const path of files(dist)) {
  if (!/\.(d\.ts|js)$/.test(path)) continue;
  const text = readFileSync(path, "utf8");
  const next = text.replace(specifier, (_m, head, q, base) => `${head}${q}${base}.js${q}`);
  if (next !== text) {
    writeFileSync(path, next);
    rewritten++;
  }
  if (leftover.test(next)) bad.push(relative(pkgDir, path));
}
if (bad.length > 0) {
  console.error(`build-package: .ts import specifiers left in ${bad.join(", ")}`);
  process.exit(1);
}
if (!statSync(join(dist, "index.js"), { throwIfNoEntry: false })) {
  console.error(`build-package: ${relative(process.cwd(), dist)}/index.js was not emitted`);
  process.exit(1);
}
if (process.env.AUTHCACHE_BUILD_QUIET !== "1") {
  console.log(
    `build-package: ${relative(join(pkgDir, "..", ".."), pkgDir)} → dist/ (.ts specifiers rewritten in ${rewritten} files)`,
  );
}
