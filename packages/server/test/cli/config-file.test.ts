// --config-file: YAML keyed by flag names; flags > environment > file; errors name the file's key; and
// SIGHUP re-reads the log level of a running node without a restart.
import { freePort, removeDir, requireBuilt, spawnTracked, tempDir, waitFor } from '@raftkv/testkit';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/cli/config.js';
import { ConfigError } from '../../src/errors.js';
import { MAIN } from '../harness.js';

describe('--config-file', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir('raftkv-config-file-');
  });
  afterAll(() => removeDir(dir));
  const file = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  test('sets flags by their names (lists joined); the environment beats it, flags beat both', () => {
    const f = file(
      'a.yaml',
      [
        'id: n1',
        'peers: [n1=127.0.0.1:7001, n2=127.0.0.1:7002]',
        'data-dir: /from-file',
        'snapshot-entries: 500',
        'log-level: warn',
        'tls-client-auth:',
      ].join('\n'),
    );
    const c = parseConfig(['--config-file', f], {});
    expect(c.id).toBe('n1');
    expect([...c.peers.keys()]).toEqual(['n1', 'n2']);
    expect(c.dataDir).toBe('/from-file');
    expect(c.snapshotEntries).toBe(500);
    expect(c.logLevel).toBe('warn');
    const env = { RAFTKV_DATA_DIR: '/from-env', RAFTKV_LOG_LEVEL: 'debug' };
    const both = parseConfig(['--config-file', f, '--log-level', 'error'], env);
    expect(both.dataDir).toBe('/from-env');
    expect(both.logLevel).toBe('error');
    expect(parseConfig([], { ...env, RAFTKV_CONFIG_FILE: f }).id).toBe('n1');
  });

  test('errors name the file and the key', () => {
    const err = (argv: string[]): string => {
      try {
        parseConfig(argv, {});
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message;
      }
      throw new Error('no error');
    };
    const base = 'id: n1\npeers: n1=127.0.0.1:7001\ndata-dir: /d\n';
    const unknown = file('u.yaml', `${base}snapshot-entris: 5\n`);
    expect(err(['--config-file', unknown])).toBe(
      `--config-file ${unknown}: key snapshot-entris: is not a raftkv flag (keys are flag names without the dashes)`,
    );
    const bad = file('b.yaml', `${base}snapshot-entries: lots\n`);
    expect(err(['--config-file', bad])).toBe(`--config-file ${bad}: key snapshot-entries: must be an integer >= 1, got "lots"`);
    // The same bad value given as a flag is the flag's error.
    expect(err(['--config-file', bad, '--snapshot-entries', 'x'])).toBe('--snapshot-entries: must be an integer >= 1, got "x"');
    const nested = file('n.yaml', `${base}tls-cert:\n  path: /x\n`);
    expect(err(['--config-file', nested])).toBe(
      `--config-file ${nested}: key tls-cert: must be a string, number, boolean or a list of them`,
    );
    const notYaml = file('y.yaml', 'id: [n1\n');
    expect(err(['--config-file', notYaml])).toMatch(new RegExp(`^--config-file ${notYaml}: not valid YAML: `));
    expect(err(['--config-file', join(dir, 'missing.yaml')])).toBe(
      `--config-file: cannot read ${JSON.stringify(join(dir, 'missing.yaml'))}: ENOENT`,
    );
  });

  test('SIGHUP re-reads the log level from the file, without a restart', async () => {
    requireBuilt(MAIN);
    const address = `127.0.0.1:${await freePort()}`;
    const f = file('node.yaml', `id: n1\npeers: n1=${address}\ndata-dir: ${join(dir, 'n1')}\nlog-level: info\n`);
    const p = spawnTracked(process.execPath, [MAIN, '--config-file', f], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    try {
      await waitFor('the node started', () => (out.includes('raftkv node started') ? true : undefined), 30_000);
      expect(out).not.toContain('"level":"debug"');
      writeFileSync(f, `id: n1\npeers: n1=${address}\ndata-dir: ${join(dir, 'n1')}\nlog-level: debug\n`);
      p.kill('SIGHUP');
      await waitFor('the re-read', () => (out.includes('SIGHUP: log level re-read') ? true : undefined), 10_000);
      const line = out.split('\n').find((l) => l.includes('SIGHUP: log level re-read'))!;
      expect(JSON.parse(line)).toMatchObject({ from: 'info', to: 'debug' });
      // A bad value leaves the level as it is and says why.
      writeFileSync(f, `id: n1\npeers: n1=${address}\ndata-dir: ${join(dir, 'n1')}\nlog-level: loud\n`);
      p.kill('SIGHUP');
      await waitFor('the refusal', () => (out.includes('log level unchanged') ? true : undefined), 10_000);
      expect(out).toContain('--config-file');
      expect(p.exitCode).toBeNull();
    } finally {
      p.kill('SIGKILL');
    }
  }, 60_000);
});
