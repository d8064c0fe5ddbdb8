// Runs the CLI from source in a child process (tests that need process-wide settings such as
// NODE_EXTRA_CA_CERTS or PATH for DefaultAzureCredential).
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv);
