// The todo demo: built into dist/, which the coordinator serves as its static folder (`npm start`).
import { defineConfig } from 'vite';

export default defineConfig({
  // Workspace packages are read from their TypeScript sources (the `source` export condition), so the
  // app builds without waiting for their own builds.
  resolve: { conditions: ['source', 'module', 'browser', 'development|production'] },
  oxc: { jsx: { runtime: 'automatic' } },
  optimizeDeps: { exclude: ['@sqlite.org/sqlite-wasm'] },
  worker: { format: 'es' },
  // lightningcss warns about todomvc-app-css's old vendor selectors; the stylesheet is 6 KB as it is.
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    cssMinify: false,
    reportCompressedSize: false,
  },
  logLevel: 'warn',
});
