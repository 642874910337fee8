// Makes a fresh clone runnable: installs npm dependencies and Debian's chromium when missing,
// with a clear message when that cannot be done here.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const CHROMIUM = process.env.TANDEM_CHROMIUM ?? '/usr/bin/chromium';

export function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { stdio: 'inherit', ...options });
  if (result.status !== 0) {
    console.error(`\n✗ ${cmd} ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
}

export function ensureDependencies() {
  if (existsSync('node_modules/.package-lock.json')) return;
  console.log('• installing npm dependencies (npm ci)…');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

export function ensureChromium() {
  if (existsSync(CHROMIUM)) return;
  const isRoot = process.getuid?.() === 0;
  const hasApt = spawnSync('which', ['apt-get']).status === 0;
  if (!isRoot || !hasApt) {
    console.error(
      `✗ browser tests need Chromium at ${CHROMIUM}.\n` +
        '  Install it with: sudo apt-get install -y chromium  (or set TANDEM_CHROMIUM to a Chromium binary)',
    );
    process.exit(1);
  }
  console.log('• installing Debian chromium for the browser tests (apt-get)…');
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

/**
 * `npm run build`: TypeScript, the reducers and the todo app. `quiet` keeps its output unless it fails
 * (`npm start` wants the app's URL to be what it prints first).
 */
export function build({ quiet = false } = {}) {
  if (!quiet) {
    console.log('• building TypeScript, the reducers and the todo app…');
    run('npm', ['run', 'build', '--silent']);
    return;
  }
  const result = spawnSync('npm', ['run', 'build', '--silent'], { encoding: 'utf8' });
  if (result.status !== 0) {
    process.stderr.write(`${result.stdout}${result.stderr}`);
    console.error(`\n✗ npm run build failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
}
