// What a browser test file of the todo reducer stands on, started once per file: a fixture page served by
// vite, Debian's Chromium, and a coordinator of the todo reducer, with the prepared reducer that
// coordinator serves (what a browser runs). Whatever started is closed after the file, also when another
// part failed to start.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Coordinator, startCoordinator } from '@tandem/coordinator';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { launchChromium } from './chromium.js';
import { type FixtureServer, REPO_ROOT, serveFixture } from './vite-server.js';

export const TODO_REDUCER = join(REPO_ROOT, 'reducers/todo/dist/reducer.wasm');

export interface BrowserRig {
  readonly browser: Browser;
  /** The fixture page's server (its page at `server.url`). */
  readonly server: FixtureServer;
  readonly coordinator: Coordinator;
  /** The prepared reducer the coordinator serves at `/reducers/current`, base64. */
  readonly reducer: string;
  /** The coordinator's WebSocket endpoint. */
  readonly syncUrl: string;
}

/**
 * Starts the rig in the file's `beforeAll` and closes it in its `afterAll`. `fixture` is a folder of
 * e2e/fixtures. The rig's fields may be read from the tests on.
 */
export function useBrowserRig(fixture: string): BrowserRig {
  let rig: BrowserRig | undefined;
  let parts: {
    server?: FixtureServer | undefined;
    browser?: Browser | undefined;
    coordinator?: Coordinator | undefined;
  } = {};
  beforeAll(async () => {
    const [server, browser, coordinator] = await Promise.allSettled([
      serveFixture(join(REPO_ROOT, 'e2e/fixtures', fixture)),
      launchChromium(),
      readFile(TODO_REDUCER).then((reducer) => startCoordinator({ reducer, port: 0 })),
    ]);
    parts = {
      server: settledValue(server),
      browser: settledValue(browser),
      coordinator: settledValue(coordinator),
    };
    if (server.status === 'rejected') throw server.reason;
    if (browser.status === 'rejected') throw browser.reason;
    if (coordinator.status === 'rejected') throw coordinator.reason;
    rig = {
      server: server.value,
      browser: browser.value,
      coordinator: coordinator.value,
      reducer: await servedReducer(coordinator.value),
      syncUrl: `${coordinator.value.url.replace('http', 'ws')}/sync`,
    };
  });
  afterAll(async () => {
    // The browser first: its pages stop talking to the server and the coordinator before those close.
    await parts.browser?.close();
    await parts.server?.close();
    await parts.coordinator?.close();
  });
  const started = (): BrowserRig => {
    if (rig === undefined) throw new Error(`the ${fixture} rig is read before its beforeAll ran`);
    return rig;
  };
  return {
    get browser() {
      return started().browser;
    },
    get server() {
      return started().server;
    },
    get coordinator() {
      return started().coordinator;
    },
    get reducer() {
      return started().reducer;
    },
    get syncUrl() {
      return started().syncUrl;
    },
  };
}

function settledValue<T>(outcome: PromiseSettledResult<T>): T | undefined {
  return outcome.status === 'fulfilled' ? outcome.value : undefined;
}

/** The prepared reducer a coordinator hands browsers (`/reducers/current` names it), base64. */
async function servedReducer(coordinator: Coordinator): Promise<string> {
  const current = (await (await fetch(`${coordinator.url}/reducers/current`)).json()) as { url: string };
  const bytes = await (await fetch(new URL(current.url, coordinator.url))).arrayBuffer();
  return Buffer.from(bytes).toString('base64');
}
