#!/usr/bin/env node
// The `polylink` command (package.json "bin"). After `npm run build` it runs the compiled
// dist/src/cli/polylink.js; in a checkout without a build it runs the TypeScript source through
// tsx (a devDependency), so `npx polylink ...` works right after `npm ci`. Rebuild (or delete
// dist/) after changing src/: the compiled command, when present, is the one that runs, unless
// POLYLINK_CLI_FROM_SOURCE=1 (the tests set it, so a build left by start.sh never runs stale code).
import { existsSync } from 'node:fs';
import process from 'node:process';
import { URL } from 'node:url';

const built = new URL('../dist/src/cli/polylink.js', import.meta.url);
if (existsSync(built) && process.env.POLYLINK_CLI_FROM_SOURCE !== '1') {
  await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/cli/polylink.ts', import.meta.url).href);
}
