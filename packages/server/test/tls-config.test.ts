// TLS and peer-port flags: what parseConfig accepts, and config errors that name the flag (exit 2, one
// line) without ever quoting a key file.
import { removeDir, tempDir } from '@raftkv/testkit';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../src/cli/config.js';
import { ConfigError } from '../src/errors.js';
import { MAIN } from './harness.js';
import { haveOpenssl, Pki, type Issued } from './pki.js';

const maybe = haveOpenssl ? describe : describe.skip;

maybe('TLS flags', () => {
  const dir = tempDir('raftkv-tls-config-');
  let node: Issued;
  let other: Issued;
  const base = ['--id', 'n1', '--peers', 'n1=127.0.0.1:7101', '--data-dir', dir];
  const errorOf = (argv: string[], env: NodeJS.ProcessEnv = {}): string => {
    try {
      parseConfig(argv, env);
    } catch (e) {
      if (e instanceof ConfigError) return e.message;
      throw e;
    }
    return 'no error';
  };

  beforeAll(() => {
    const pki = new Pki(dir);
    const ca = pki.ca('ca');
    node = pki.issue(ca, 'node');
    other = pki.issue(ca, 'other', undefined, 'n1');
  });
  afterAll(() => removeDir(dir));

  test('client TLS, client auth, a peer port with mutual TLS', () => {
    const c = parseConfig(
      [
        ...base,
        '--listen',
        '127.0.0.1:7001',
        '--tls-cert',
        node.cert,
        '--tls-key',
        node.key,
        '--tls-ca',
        node.ca,
        '--tls-client-auth',
        '--peer-listen',
        '127.0.0.1:7101',
        '--peer-tls-cert',
        other.cert,
        '--peer-tls-key',
        other.key,
        '--peer-tls-ca',
        other.ca,
      ],
      {},
    );
    expect(c.tls?.clientAuth).toBe(true);
    expect(c.tls?.cert.equals(readFileSync(node.cert))).toBe(true);
    expect(c.peerListen).toBe('127.0.0.1:7101');
    expect(c.peerTls?.ca.equals(readFileSync(other.ca))).toBe(true);
    // Plaintext unless asked; client auth from env as true/false.
    expect(parseConfig(base, {}).tls).toBeNull();
    const env = { RAFTKV_TLS_CERT: node.cert, RAFTKV_TLS_KEY: node.key, RAFTKV_TLS_CA: node.ca, RAFTKV_TLS_CLIENT_AUTH: 'false' };
    expect(parseConfig(base, env).tls?.clientAuth).toBe(false);
    expect(parseConfig([...base, '--tls-client-auth'], env).tls?.clientAuth).toBe(true);
  });

  test('StatefulSet mode with a peer port: peers are dialled at the peer port', () => {
    const c = parseConfig(['--listen', '0.0.0.0:7001', '--peer-listen', '0.0.0.0:7003'], {
      RAFTKV_ID: 'raftkv-0',
      RAFTKV_REPLICAS: '3',
      RAFTKV_PEER_DOMAIN: 'raftkv-peer.ns.svc.cluster.local',
      RAFTKV_DATA_DIR: dir,
      RAFTKV_INSECURE_PEERS: 'true',
    });
    expect(c.peers.get('raftkv-2')).toBe('raftkv-2.raftkv-peer.ns.svc.cluster.local:7003');
    expect(c.listen).toBe('0.0.0.0:7001');
  });

  test('errors name the flag', () => {
    const cases: [string[], string][] = [
      [['--tls-cert', node.cert], '--tls-key: is required with --tls-cert'],
      [['--tls-key', node.key], '--tls-cert: is required with --tls-key'],
      [['--tls-ca', node.ca], '--tls-cert: is required with --tls-ca'],
      [
        ['--tls-cert', join(dir, 'nope.pem'), '--tls-key', node.key],
        `--tls-cert: cannot read ${JSON.stringify(join(dir, 'nope.pem'))}: ENOENT`,
      ],
      [
        ['--tls-cert', node.cert, '--tls-key', join(dir, 'node.ext')],
        `--tls-key: ${JSON.stringify(join(dir, 'node.ext'))} is not a PEM file`,
      ],
      [
        ['--tls-cert', node.cert, '--tls-key', other.key],
        `--tls-key: ${JSON.stringify(other.key)} is not the key of the certificate in --tls-cert`,
      ],
      [
        ['--tls-cert', node.cert, '--tls-key', node.key, '--tls-client-auth'],
        '--tls-ca: is required with --tls-client-auth (the CA client certificates must be signed by)',
      ],
      [['--tls-client-auth'], '--tls-client-auth: needs --tls-cert, --tls-key and --tls-ca'],
      [['--tls-client-auth=maybe'], '--tls-client-auth: must be true or false, got "maybe"'],
      [
        ['--listen', '127.0.0.1:7001', '--peer-listen', '127.0.0.1:7101', '--peer-tls-cert', node.cert, '--peer-tls-key', node.key],
        '--peer-tls-ca: is required with --peer-tls-cert (peers must prove they belong to the cluster)',
      ],
      [
        ['--peer-tls-cert', node.cert, '--peer-tls-key', node.key, '--peer-tls-ca', node.ca],
        '--peer-listen: is required with --peer-tls-cert (peer mutual TLS is served on a port of its own)',
      ],
      [['--peer-listen', '127.0.0.1:7101'], '--listen: is required with --peer-listen (the client port)'],
      [['--listen', '127.0.0.1:7101', '--peer-listen', '0.0.0.0:7101'], '--peer-listen: must be another port than --listen 127.0.0.1:7101'],
    ];
    for (const [flags, message] of cases) expect(errorOf([...base, ...flags])).toBe(message);
  });

  test('a key given as the certificate is refused without quoting it', () => {
    const message = errorOf([...base, '--tls-cert', node.key, '--tls-key', node.key]);
    expect(message).toMatch(/^--tls-cert: ".*node\.key" cannot be used: /);
    for (const line of readFileSync(node.key, 'utf8')
      .split('\n')
      .filter((l) => l.length > 8 && !l.startsWith('-----'))) {
      expect(message).not.toContain(line);
    }
  });

  test('the node exits 2 with one line naming the flag', () => {
    const r = spawnSync(process.execPath, [MAIN, ...base, '--tls-cert', node.cert, '--tls-key', other.key], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`raftkv: --tls-key: ${JSON.stringify(other.key)} is not the key of the certificate in --tls-cert\n`);
    expect(r.stdout).toBe('');
  });
});

maybe('peer authentication flags', () => {
  const dir = tempDir('raftkv-peer-auth-config-');
  const base = ['--id', 'n1', '--peers', 'n1=127.0.0.1:7101', '--data-dir', dir];
  const open = ['--id', 'n1', '--peers', 'n1=10.0.0.1:7101', '--listen', '0.0.0.0:7101', '--data-dir', dir];
  let n1: Issued;
  let n2: Issued;
  let plain: Issued;
  beforeAll(() => {
    const pki = new Pki(dir);
    const ca = pki.ca('peer-ca');
    n1 = pki.issue(ca, 'peer-n1', undefined, 'n1');
    n2 = pki.issue(ca, 'peer-n2', undefined, 'n2');
    plain = pki.issue(ca, 'peer-plain');
    writeFileSync(join(dir, 'secret'), `${'s'.repeat(40)}\n`);
    writeFileSync(join(dir, 'short'), 'short\n');
  });
  afterAll(() => removeDir(dir));
  const tls = (c: Issued) => [
    '--listen',
    '0.0.0.0:7001',
    '--peer-listen',
    '0.0.0.0:7101',
    '--peer-tls-cert',
    c.cert,
    '--peer-tls-key',
    c.key,
    '--peer-tls-ca',
    c.ca,
  ];

  test('a non-loopback node needs peer TLS, a secret or --insecure-peers; exit 2 with one line naming the flags', () => {
    const r = spawnSync(process.execPath, [MAIN, ...open], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      'raftkv: --peer-secret-file: peers would be unauthenticated on 0.0.0.0:7101: give --peer-secret-file, or --peer-listen with ' +
        '--peer-tls-cert/--peer-tls-key/--peer-tls-ca, or --insecure-peers\n',
    );
    expect(parseConfig([...open, '--insecure-peers'], {}).insecurePeers).toBe(true);
    expect(parseConfig(open, { RAFTKV_PEER_SECRET_FILE: join(dir, 'secret') }).peerSecret?.toString()).toBe('s'.repeat(40));
    expect(parseConfig([...open, ...tls(n1)], {}).peerTls).not.toBeNull();
    // Loopback-only clusters (npm start, tests) need nothing.
    expect(parseConfig(base, {}).peerSecret).toBeNull();
  });

  test('the secret must be long enough and is never quoted; a peer certificate must name this node', () => {
    expect(() => parseConfig([...base, '--peer-secret-file', join(dir, 'short')], {})).toThrow(
      /--peer-secret-file: .* holds 5 bytes; at least 32/,
    );
    expect(() => parseConfig([...base, '--peer-secret-file', join(dir, 'nope')], {})).toThrow(/--peer-secret-file: cannot read .*ENOENT/);
    expect(() => parseConfig([...base, ...tls(n2)], {})).toThrow('--peer-tls-cert: names member "n2", not this node\'s --id "n1"');
    expect(() => parseConfig([...base, ...tls(plain)], {})).toThrow(
      /--peer-tls-cert: the peer certificate names no member \(no SAN URI raftkv:\/\/member\/<id>\)/,
    );
  });
});

describe('StatefulSet mode beyond the bootstrap size', () => {
  test('a pod with ordinal >= --replicas joins through the pods below it', () => {
    const env = {
      RAFTKV_REPLICAS: '3',
      RAFTKV_PEER_DOMAIN: 'raftkv-peer.ns.svc.cluster.local',
      RAFTKV_DATA_DIR: '/d',
      RAFTKV_INSECURE_PEERS: 'true',
    };
    const member = parseConfig(['--id', 'raftkv-2'], env);
    expect(member.join).toBeNull();
    expect(member.peers.size).toBe(3);
    const joiner = parseConfig(['--id', 'raftkv-4', '--peer-listen', '0.0.0.0:7003', '--listen', '0.0.0.0:7001'], env);
    expect(joiner.join).toEqual([0, 1, 2, 3].map((i) => `raftkv-${i}.raftkv-peer.ns.svc.cluster.local:7003`));
    expect([...joiner.peers]).toEqual([['raftkv-4', 'raftkv-4.raftkv-peer.ns.svc.cluster.local:7003']]);
    expect(joiner.advertise).toBe('raftkv-4.raftkv-peer.ns.svc.cluster.local:7003');
  });
});
