import { realpathSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** True when the module at `moduleUrl` is the script node was started with (not an import). */
function isEntryPoint(moduleUrl: string): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return (
      pathToFileURL(realpathSync(entry)).href ===
      pathToFileURL(realpathSync(fileURLToPath(moduleUrl))).href
    );
  } catch {
    return false;
  }
}

/**
 * Runs a seed extractor's `main` only when its file is executed directly, so tests can import its
 * pure functions; an error becomes one line on stderr and exit code 1.
 */
export function runIfEntryPoint(moduleUrl: string, main: (argv: string[]) => void): void {
  if (!isEntryPoint(moduleUrl)) return;
  try {
    main(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
