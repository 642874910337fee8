// Serves a fixture page with vite, resolving workspace packages to their TypeScript sources. A fixture
// without an index.html of its own gets the shared one (e2e/fixtures/page.html), which loads its main.ts.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer, type Plugin, type ViteDevServer } from 'vite';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SHARED_PAGE = join(REPO_ROOT, 'e2e/fixtures/page.html');

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
    plugins: existsSync(join(root, 'index.html')) ? [] : [sharedPage(basename(root))],
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

/** Answers `/` (and `/index.html`, with any query) with the shared page, as vite would answer its own. */
function sharedPage(fixture: string): Plugin {
  return {
    name: 'tandem-shared-fixture-page',
    configureServer(server) {
      server.middlewares.use((request, response, next) => {
        const url = request.url ?? '/';
        const path = url.split('?')[0];
        if (path !== '/' && path !== '/index.html') return next();
        readFile(SHARED_PAGE, 'utf8')
          .then((template) => server.transformIndexHtml(url, template.replace('%FIXTURE%', fixture)))
          .then((html) => {
            response.setHeader('Content-Type', 'text/html');
            response.end(html);
          })
          .catch(next);
      });
    },
  };
}
