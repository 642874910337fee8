#!/usr/bin/env node
import { main } from '../dist/cli.js';

// Exits even if something (a hung worker) would keep the event loop alive.
process.exit(await main(process.argv.slice(2)));
