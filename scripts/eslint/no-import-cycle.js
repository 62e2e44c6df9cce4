// Import circles are forbidden, type-only ones included: a circle of types still ties the modules into one
// unit a reader must take in whole (eslint-plugin-import-x's no-cycle skips `import type`, so it missed
// bench's args → transport → target → args). Modules are resolved as tsc resolves them (NodeNext, so
// `./x.js` finds x.ts); only this repository's own sources are followed, not packages or built output.
import { statSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import ts from 'typescript';

const options = {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  allowJs: true,
  resolveJsonModule: true,
};
const resolutionCache = ts.createModuleResolutionCache(process.cwd(), (f) => f, options);

function resolve(spec, fromFile) {
  const r = ts.resolveModuleName(spec, fromFile, options, ts.sys, resolutionCache).resolvedModule;
  if (r === undefined || r.isExternalLibraryImport) return null;
  const f = r.resolvedFileName;
  return /\.d\.[cm]?ts$/.test(f) || /[/\\](node_modules|dist|dist-test)[/\\]/.test(f) ? null : f;
}

/** file -> { mtimeMs, targets }: the files it imports, re-read when it changes (editors keep ESLint running). */
const graph = new Map();
function importsOf(file) {
  let mtimeMs;
  try {
    mtimeMs = statSync(file).mtimeMs;
  } catch {
    return [];
  }
  const known = graph.get(file);
  if (known?.mtimeMs === mtimeMs) return known.targets;
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  const targets = [...new Set(importedFiles.map((ref) => resolve(ref.fileName, file)).filter((f) => f !== null))];
  graph.set(file, { mtimeMs, targets });
  return targets;
}

/** The shortest path from `start` back to `home` ([start, ..., home]), or null. */
function pathBack(start, home) {
  const from = new Map([[start, null]]);
  const queue = [start];
  while (queue.length > 0) {
    const f = queue.shift();
    if (f === home) {
      const path = [];
      for (let p = f; p !== null; p = from.get(p)) path.unshift(p);
      return path;
    }
    for (const t of importsOf(f)) {
      if (!from.has(t)) {
        from.set(t, f);
        queue.push(t);
      }
    }
  }
  return null;
}

export const noImportCycle = {
  meta: {
    type: 'problem',
    docs: { description: 'Forbid import circles between modules, type-only imports included' },
    schema: [],
    messages: { cycle: 'Import circle: {{path}}.' },
  },
  create(context) {
    const home = context.filename;
    const check = (node, source) => {
      if (source?.type !== 'Literal' || typeof source.value !== 'string') return;
      const target = resolve(source.value, home);
      if (target === null || target === home) return;
      const back = pathBack(target, home);
      if (back === null) return;
      const path = [home, ...back].map((f) => relative(context.cwd, f)).join(' → ');
      context.report({ node, messageId: 'cycle', data: { path } });
    };
    return {
      ImportDeclaration: (node) => check(node, node.source),
      ExportNamedDeclaration: (node) => check(node, node.source),
      ExportAllDeclaration: (node) => check(node, node.source),
      ImportExpression: (node) => check(node, node.source),
    };
  },
};
