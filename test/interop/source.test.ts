// Every personality as the source of an import: manifests (one image, an index), blob downloads
// with resume, foreign layers; faults before the first byte, mid-body, after the last byte, cut
// bodies with and without a length, a 401. See matrix.ts for the tables.
import { cliMatrix } from './matrix.js';

cliMatrix('source');
