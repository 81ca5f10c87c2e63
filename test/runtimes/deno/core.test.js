// deno test: core's application-facing surface (../core-suite.js) against the built dist.
// Deno's own sanitizers also fail a test that leaves a timer, an op or a resource behind.
import * as memory from "@authcache/adapter-memory";
import * as core from "@authcache/core";
import { defineCoreSuite } from "../core-suite.js";

/** Runs `path` with this Deno; a process still alive after 30 s is killed (code null). */
async function runScript(path) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--node-modules-dir=manual", "--no-lock", "--no-check", path],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const { code, signal, stdout, stderr } = await child.output();
  clearTimeout(timer);
  const text = new TextDecoder();
  return { code: signal ? null : code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

defineCoreSuite({ test: (name, fn) => Deno.test({ name, fn }), core, memory, runScript });
