import childProcess from "node:child_process";

/**
 * State that must be per process, not per module instance. Jest loads this package afresh
 * for every test file but hands out the same Node core modules, so the state hangs off one.
 */
export interface SharedState {
  announced: Set<string>;
  runtime?: Promise<RuntimeChoice>;
  exitHookInstalled: boolean;
  live: Set<LiveProcess>;
}

export interface RuntimeChoice {
  use: "testcontainers" | "local-binary";
  why: string;
  /** Set when POSTERN_TEST_BACKEND forced the choice. */
  forced: boolean;
}

export interface LiveProcess {
  pid: number;
  guardPid: number | undefined;
  dir: string;
}

const KEY = Symbol.for("@postern/testing/state");

export function shared(): SharedState {
  const host = childProcess as unknown as Record<symbol, SharedState | undefined>;
  let state = host[KEY];
  if (state === undefined) {
    state = { announced: new Set(), exitHookInstalled: false, live: new Set() };
    Object.defineProperty(host, KEY, { value: state, enumerable: false });
  }
  return state;
}
