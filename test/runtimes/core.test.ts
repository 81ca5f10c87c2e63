// bun test: core's application-facing surface (core-suite.js), the suite Node and Deno run too.
import { test } from "bun:test";
import { spawn } from "node:child_process";
import * as memory from "@authcache/adapter-memory";
import * as core from "@authcache/core";
import { defineCoreSuite } from "./core-suite.js";

/** Runs `path` with this Bun; a process still alive after 30 s is killed (code null). */
function runScript(path: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

defineCoreSuite({ test: (name, fn) => test(name, fn, 30_000), core, memory, runScript });
