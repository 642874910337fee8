// Where the suite finds its browser and its server (shared by the config and the specs).
import { fileURLToPath } from 'node:url';

/** Debian's chromium (never `npx playwright install`: downloads fail here). */
export const CHROMIUM_PATH = process.env.TANDEM_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** The port of the coordinator the config starts for the whole run. */
export const APP_PORT = Number(process.env.TANDEM_E2E_PORT ?? 8790);

/** The script that serves the app as `npm start` does. */
export const SERVE_APP = fileURLToPath(new URL('../../../scripts/serve-app.mjs', import.meta.url));
