// `npm test`: installs what is missing, builds, then runs every test (browser tests included).
import { build, ensureChromium, ensureDependencies, run } from './ensure.mjs';

ensureDependencies();
ensureChromium();
build();
run('npx', ['vitest', 'run', ...process.argv.slice(2)]);
