// Serves a fixture page with vite, resolving workspace packages to their TypeScript sources.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer, type ViteDevServer } from 'vite';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface FixtureServer {
  readonly url: string;
  /** A URL under which the page can fetch a file of the repository. */
  fileUrl(absolutePath: string): string;
  close(): Promise<void>;
}

export interface FixtureOptions {
  /**
   * CommonJS dependencies the page imports (e.g. `react`, `react-dom/client`): pre-bundled into ES
   * modules before the server starts (nothing is discovered later), in a cache of this fixture's own.
   */
  readonly prebundle?: readonly string[];
}

export async function serveFixture(root: string, options: FixtureOptions = {}): Promise<FixtureServer> {
  const prebundle = options.prebundle ?? [];
  const server: ViteDevServer = await createServer({
    root,
    configFile: false,
    logLevel: 'warn',
    // No watching: a page is served as the sources were at start, never reloaded under a test by an edit.
    server: {
      host: '127.0.0.1',
      port: 0,
      strictPort: false,
      fs: { allow: [REPO_ROOT] },
      hmr: false,
      watch: null,
    },
    resolve: { conditions: ['source', 'module', 'browser', 'development|production'] },
    // No dependency pre-bundling: deps discovered late (a worker's imports) would make vite re-optimize
    // and reload the page under the test ("execution context was destroyed"), and servers running at
    // once would share its cache. Every dependency the pages load ships ES modules.
    optimizeDeps: { noDiscovery: true, include: [...prebundle] },
    ...(prebundle.length > 0 && { cacheDir: join(root, 'node_modules/.vite') }),
    worker: { format: 'es' },
  });
  await server.listen();
  const address = server.httpServer?.address();
  if (address === null || address === undefined || typeof address === 'string') {
    throw new Error('vite did not report a TCP address');
  }
  const url = `http://127.0.0.1:${address.port}/`;
  return {
    url,
    fileUrl: (absolutePath) => `${url}@fs${absolutePath}`,
    close: () => server.close(),
  };
}
