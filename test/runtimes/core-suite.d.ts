import type * as memory from "@authcache/adapter-memory";
import type * as core from "@authcache/core";

export interface CoreSuiteRunner {
  /** The runtime's own test function. */
  test(name: string, fn: () => Promise<void>): void;
  core: typeof core;
  memory: typeof memory;
  /** Runs a script in a new process of the same runtime; a hung one is killed (code null). */
  runScript(path: string): Promise<{ code: number | null; stdout: string; stderr: string }>;
}

export function defineCoreSuite(runner: CoreSuiteRunner): void;
