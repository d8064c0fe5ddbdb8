#!/usr/bin/env node
// Launcher: runs the bundled CLI (dist/bundle/, built by `npm run build`) and exits with its code.
import { main } from '../dist/bundle/main.js';

process.exitCode = await main(process.argv);
