/** Mocha entry point loaded by the extension host (the `--extensionTestsPath` module). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 30_000, reporter: 'spec' });
  // AGENT_SPEND_HOST_GREP=<text>: run only the matching tests (development)
  const grep = process.env['AGENT_SPEND_HOST_GREP'];
  if (grep) mocha.grep(grep);
  for (const f of fs.readdirSync(__dirname).filter((f) => f.endsWith('.test.js')).sort()) mocha.addFile(path.join(__dirname, f));
  return new Promise((resolve, reject) => {
    const runner = mocha.run((failures) => {
      if (failures > 0) reject(new Error(`${failures} host test(s) failed`));
      else if (runner.stats && runner.stats.passes === 0) reject(new Error('no host test ran'));
      else resolve();
    });
  });
}
