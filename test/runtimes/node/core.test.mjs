// node --test: core's application-facing surface (../core-suite.js) against the built dist.
import { spawn } from "node:child_process";
import { test } from "node:test";
import * as memory from "@authcache/adapter-memory";
import * as core from "@authcache/core";
import { defineCoreSuite } from "../core-suite.js";

/** Runs `path` with this Node; a process still alive after 30 s is killed (code null). */
function runScript(path) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

defineCoreSuite({ test: (name, fn) => test(name, fn), core, memory, runScript });
