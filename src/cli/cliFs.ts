/** The file access the CLI's sources use. */
import * as fsSync from 'node:fs';
import * as fs from 'node:fs/promises';
import type { SourceFs } from '../sources/source';

/**
 * The CLI has no UI thread to keep responsive: metadata calls answer synchronously, which spares
 * a warm run a thread-pool round trip for each of its thousands of stats. Reads stay asynchronous.
 */
export const cliFs: SourceFs = {
  stat: async (p) => fsSync.statSync(p),
  readdir: async (p, opts) => fsSync.readdirSync(p, opts),
  open: (p, flags) => fs.open(p, flags),
};
