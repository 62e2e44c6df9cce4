// Where the raftkv node's entry point is: resolved through the @raftkv/server package the caller
// depends on (its bin "raftkv"), never by a relative path into another package.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The server's package directory, resolved from `from` (the caller's import.meta.url). */
export function serverPackageDir(from: string | URL): string {
  return dirname(createRequire(from).resolve('@raftkv/server/package.json'));
}

/** The node's entry point (dist/main.js), resolved from `from`; it may not be built yet (see requireBuilt). */
export function serverMain(from: string | URL): string {
  const dir = serverPackageDir(from);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { bin?: Record<string, string> };
  return join(dir, pkg.bin?.['raftkv'] ?? 'dist/main.js');
}

/** Throws a message that says what to do when `main` is not built. */
export function requireBuilt(main: string): string {
  if (!existsSync(main)) throw new Error(`${main} is missing: build the server first (node scripts/run.mjs build)`);
  return main;
}
