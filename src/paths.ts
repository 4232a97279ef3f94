import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, whether running from src/ (tsx) or dist/src/ (compiled). */
function findProjectRoot(start: string): string {
  let dir = start;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`No package.json above ${start}`);
    dir = parent;
  }
  return dir;
}

export const PROJECT_ROOT = findProjectRoot(path.dirname(fileURLToPath(import.meta.url)));
export const SCHEMA_PATH = path.join(PROJECT_ROOT, 'schema.graphql');
export const MIGRATIONS_DIR = path.join(PROJECT_ROOT, 'db', 'migrations');
/** The page served at `/`: static ES modules and CSS, no build step. */
export const WEB_DIR = path.join(PROJECT_ROOT, 'web');
/** The Cypher of docs/browser-guide.md becomes the runnable cells of the Neo4j Browser guide. */
export const BROWSER_GUIDE_MARKDOWN = path.join(PROJECT_ROOT, 'docs', 'browser-guide.md');
/** The Neo4j Browser style (GRASS) the guide applies with `:style`. */
export const BROWSER_STYLE_FILE = path.join(PROJECT_ROOT, 'docs', 'browser-style.grass');
