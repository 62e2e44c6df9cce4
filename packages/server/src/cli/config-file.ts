// --config-file: a YAML file whose keys are the server's flag names (as etcd's --config-file), e.g.
//   data-dir: /var/lib/raftkv
//   peers: [n1=10.0.0.1:7001, n2=10.0.0.2:7001]   # a list is joined with commas
//   log-level: debug
// Precedence: flags > RAFTKV_* environment > the file. Errors name the file and the key.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { parse as parseYaml } from 'yaml';
import { ConfigError } from '../errors.js';
import { SERVER_FLAGS, type ServerFlag } from './flags.js';

const KNOWN: ReadonlySet<string> = new Set(SERVER_FLAGS);

/** The YAML parser, loaded only when a node has a config file (it costs ~100s of ms at start-up). */
const parse = (text: string): unknown => (createRequire(import.meta.url)('yaml') as { parse: typeof parseYaml }).parse(text);

/** The flag values the file sets, as strings (what a flag or variable would have said). */
export function readConfigFile(path: string): Map<ServerFlag, string> {
  const where = `--config-file ${path}`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError('--config-file', `cannot read ${JSON.stringify(path)}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, {
      cause: e,
    });
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new ConfigError(where, `not valid YAML: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
  const values = new Map<ServerFlag, string>();
  if (doc === null || doc === undefined) return values; // an empty file
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(where, 'must be a mapping of flag names to values');
  for (const [key, raw] of Object.entries(doc as Record<string, unknown>)) {
    if (!KNOWN.has(key)) throw new ConfigError(`${where}: key ${key}`, 'is not a raftkv flag (keys are flag names without the dashes)');
    if (key === 'config-file') throw new ConfigError(`${where}: key ${key}`, 'cannot be set in a config file');
    const scalar = (v: unknown): string => {
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
      throw new ConfigError(`${where}: key ${key}`, 'must be a string, number, boolean or a list of them');
    };
    if (raw === null) continue; // `key:` with no value: not set
    values.set(key as ServerFlag, Array.isArray(raw) ? raw.map(scalar).join(',') : scalar(raw));
  }
  return values;
}
