/** Bounded-depth folder walk shared by the sources' discovery. Missing folders are silent; unreadable ones are reported. */
import * as path from 'node:path';
import type { DiscoveryResult, SourceFs } from './source';

export async function walkFiles(
  fs: SourceFs,
  root: string,
  maxDepth: number,
  wantFile: (name: string) => boolean,
  enterDir: (name: string) => boolean,
  out: DiscoveryResult,
): Promise<void> {
  const rootOk = await visit(fs, root, 0, maxDepth, wantFile, enterDir, out, root);
  if (rootOk) out.roots.push(root);
}

async function visit(
  fs: SourceFs,
  dir: string,
  depth: number,
  maxDepth: number,
  wantFile: (name: string) => boolean,
  enterDir: (name: string) => boolean,
  out: DiscoveryResult,
  root: string,
): Promise<boolean> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') out.problems.push({ path: dir, message: errorText(err) });
    return false;
  }
  const subdirs: string[] = [];
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isFile() && wantFile(e.name)) out.files.push({ path: p, root });
    else if (e.isDirectory() && depth < maxDepth && enterDir(e.name)) subdirs.push(p);
  }
  // Sibling folders concurrently: discovery of thousands of project folders stays quick.
  await Promise.all(subdirs.map((d) => visit(fs, d, depth + 1, maxDepth, wantFile, enterDir, out, root)));
  return true;
}

export function errorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code ? `${e.code}: ${e.message}` : err instanceof Error ? err.message : String(err);
}
