// `npm test`: installs what is missing, builds, then runs every test: vitest (browser tests included),
// then the todo demo's Playwright suite (e2e/playwright). Arguments go to vitest; with arguments the
// Playwright suite is skipped unless TANDEM_E2E=1 (a targeted run stays targeted).
// `npm test -- --e2e-only` runs the Playwright suite alone.
import { build, ensureChromium, ensureDependencies, run } from './ensure.mjs';

const args = process.argv.slice(2);
const e2eOnly = args.includes('--e2e-only');
const vitestArgs = args.filter((arg) => arg !== '--e2e-only');

ensureDependencies();
ensureChromium();
build();
if (!e2eOnly) run('npx', ['vitest', 'run', ...vitestArgs]);
if (e2eOnly || vitestArgs.length === 0 || process.env.TANDEM_E2E === '1') {
  console.log('\n• the todo demo in Chromium (Playwright Test, e2e/playwright)…');
  run('npx', ['playwright', 'test', '--config', 'e2e/playwright.config.ts']);
}
