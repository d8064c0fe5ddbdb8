// Every personality as the target of an import: manifest PUTs, monolithic and streamed uploads,
// a refused mount whose session takes the upload, foreign layers; faults before and after each
// write and a 401 on it. See matrix.ts for the tables.
import { cliMatrix } from './matrix.js';

cliMatrix('target');
