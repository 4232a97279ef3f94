#!/usr/bin/env node
// The `polylink` command (package.json "bin"). After `npm run build` it runs the compiled
// dist/src/cli/polylink.js; in a checkout without a build it runs the TypeScript source through
// tsx (a devDependency), so `npx polylink ...` works right after `npm ci`. Rebuild (or delete
// dist/) after changing src/: the compiled command, when present, is the one that runs.
import { existsSync } from 'node:fs';
import { URL } from 'node:url';

const built = new URL('../dist/src/cli/polylink.js', import.meta.url);
if (existsSync(built)) {
  await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/cli/polylink.ts', import.meta.url).href);
}
