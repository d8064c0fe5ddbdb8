#!/usr/bin/env node
// Launcher: runs the compiled CLI and exits with its code.
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv);
