/** Turning user-given locations into source settings (shared by the CLI flags and the extension settings). */

/** Aider locations: `.md` paths are history files, anything else a folder. */
export function splitAiderPaths(paths: readonly string[]): { aiderFolders: string[]; aiderHistoryFiles: string[] } {
  const isFile = (p: string) => p.toLowerCase().endsWith('.md');
  return { aiderFolders: paths.filter((p) => !isFile(p)), aiderHistoryFiles: paths.filter(isFile) };
}
