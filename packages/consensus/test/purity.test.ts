// The core must stay a pure function of its inputs: no I/O, clocks, timers or ambient randomness.
// This is what lets one seed reproduce a whole simulated run.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const src = join(process.cwd(), 'src');
const files = readdirSync(src).filter((f) => f.endsWith('.ts'));

const forbidden: [RegExp, string][] = [
  [/from\s+['"](node:|fs|path|net|http|http2|os|child_process|worker_threads|timers|crypto|util|events|stream)/, 'Node.js module import'],
  [/from\s+['"](@grpc\/|better-sqlite3|winston|@raftkv\/server)/, 'I/O library import'],
  [/\brequire\s*\(/, 'require()'],
  [/\bimport\s*\(/, 'dynamic import'],
  [/Math\.random\s*\(/, 'Math.random'],
  [/Date\.now\s*\(|new Date\s*\(|performance\.now\s*\(/, 'wall clock'],
  [/\bset(Timeout|Interval|Immediate)\s*\(|queueMicrotask\s*\(/, 'timer'],
  [/\bprocess\./, 'process global'],
  [/\bconsole\./, 'console output'],
  [/:\s*any\b|as\s+any\b|<any>/, 'any type'],
];

test('the consensus core has source files to check', () => {
  expect(files.length).toBeGreaterThan(5);
});

test.each(files)('%s is pure', (file) => {
  const text = readFileSync(join(src, file), 'utf8')
    .split('\n')
    .filter((l) => !/^\s*(\/\/|\*|\/\*)/.test(l))
    .join('\n');
  for (const [re, what] of forbidden) {
    expect({ file, what, found: re.test(text) }).toEqual({ file, what, found: false });
  }
});

test('the core compiles without Node types', () => {
  const tsconfig = JSON.parse(readFileSync(join(process.cwd(), 'tsconfig.json'), 'utf8')) as { compilerOptions: { types?: string[] } };
  expect(tsconfig.compilerOptions.types).toEqual([]);
});
