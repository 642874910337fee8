// Playwright Test for the todo demo: specs in playwright/, in Debian's Chromium (never a downloaded
// browser), against the coordinator serving the built app as `npm start` does (scripts/serve-app.mjs) on
// a test port with a fresh data folder. Needs `npm run build` first (`npm test` does it).
// Failing specs keep a trace and a screenshot in test-results/playwright/ (gitignored).
import { defineConfig } from '@playwright/test';
import { APP_PORT, CHROMIUM_ARGS, CHROMIUM_PATH } from './playwright/support/settings.js';

export default defineConfig({
  testDir: './playwright',
  outputDir: './test-results/playwright',
  // Generous for a loaded two-core machine; a passing run takes a fraction of these.
  timeout: 45_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  // The machine has two cores: the coordinator and the browsers share them.
  workers: 2,
  forbidOnly: true,
  reporter: [['list'], ['html', { open: 'never', outputFolder: './test-results/playwright-report' }]],
  use: {
    baseURL: `http://127.0.0.1:${APP_PORT}`,
    browserName: 'chromium',
    launchOptions: { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  webServer: {
    command: 'node ../scripts/serve-app.mjs --temp-data',
    url: `http://127.0.0.1:${APP_PORT}/health`,
    env: { PORT: String(APP_PORT), TANDEM_LOG_LEVEL: 'warn' },
    reuseExistingServer: false,
    gracefulShutdown: { signal: 'SIGTERM', timeout: 5_000 },
    timeout: 30_000,
  },
});
