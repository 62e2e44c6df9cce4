// The cluster version: the command registry (which release applies which kind), the replicated value
// (only raised, part of the digest once set), and the leader's decision and propose-path gate.
import { removeDir, tempDir } from '@raftkv/testkit';
import type { Entry } from '@raftkv/consensus';
import { encodeCommand, proposeCommand } from '../src/storage/command.js';
import { commandRequirement, DEFAULT_COMMAND_SINCE } from '../src/storage/command-versions.js';
import { openDatabase, type Db } from '../src/storage/db.js';
import { KvStateMachine } from '../src/storage/state-machine.js';
import { ClusterVersion, type ClusterVersionDeps } from '../src/node/cluster-version.js';
import { NotCapableError } from '../src/errors.js';
import { createLogger } from '../src/observability/logger.js';
import { Command } from '@raftkv/proto';
import { compareVersions, RAFTKV_VERSION } from '../src/version.js';

const setVersion = (version: string): Uint8Array => encodeCommand({ $case: 'clusterVersionSet', clusterVersionSet: { version } });
const put = encodeCommand({
  $case: 'put',
  put: { key: Buffer.from('k'), value: Buffer.from('v'), lease: 0, prevKv: false, ignoreValue: false, ignoreLease: false },
});

describe('command registry', () => {
  test("v0.2.0's kinds need 0.2.0; every other kind (fields past 5, one- or two-byte tags) needs 0.3.0", () => {
    expect(commandRequirement(put)).toEqual({ field: 2, kind: 'put', since: '0.2.0' });
    expect(commandRequirement(proposeCommand({ clientId: '', sequence: 0 }))).toMatchObject({ field: 1, since: '0.2.0' });
    expect(commandRequirement(setVersion('0.3.0'))).toEqual({ field: 36, kind: 'cluster_version_set', since: DEFAULT_COMMAND_SINCE });
    // A field of a one-byte tag (6..15) that another kind will take: the default applies.
    expect(commandRequirement(Uint8Array.from([(6 << 3) | 2, 0])).since).toBe('0.3.0');
    expect(commandRequirement(new Uint8Array(0)).since).toBe('0.2.0');
    // A put by an authenticated user (auth_user, field 31, outside the oneof, in either order) is still a put.
    const withUser = Command.encode({ ...Command.decode(put), authUser: 'alice' }).finish();
    expect(commandRequirement(withUser)).toMatchObject({ field: 2, since: '0.2.0' });
    expect(commandRequirement(Buffer.concat([Buffer.from([0xfa, 0x01, 1, 0x61]), put]))).toMatchObject({ field: 2, since: '0.2.0' });
    expect(compareVersions(DEFAULT_COMMAND_SINCE, RAFTKV_VERSION)).toBeLessThanOrEqual(0);
  });
});

describe('replicated cluster version', () => {
  let dir: string;
  let db: Db;
  let sm: KvStateMachine;
  let index = 0;
  beforeEach(() => {
    dir = tempDir('raftkv-cv-');
    db = openDatabase(dir);
    sm = new KvStateMachine(db);
    index = 0;
  });
  afterEach(() => {
    db.close();
    removeDir(dir);
  });
  const apply = (data: Uint8Array) => {
    const e: Entry = { index: ++index, term: 1, type: 'normal', data };
    return db.transaction(() => sm.apply([e]))()[0];
  };

  test('is raised, never lowered, survives a reload, and enters the digest once set', () => {
    const before = sm.digest().digest;
    expect(sm.clusterVersion.get()).toBe('');
    apply(put);
    const unset = sm.digest().digest;
    expect(unset).not.toBe(before);
    expect(apply(setVersion('0.3.0'))).toEqual({
      ok: true,
      response: { $case: 'clusterVersionSet', clusterVersionSet: { version: '0.3.0' } },
    });
    expect(sm.digest().digest).not.toBe(unset);
    expect(apply(setVersion('0.2.9'))).toMatchObject({ ok: true, response: { clusterVersionSet: { version: '0.3.0' } } });
    apply(setVersion('0.10.0'));
    expect(sm.clusterVersion.get()).toBe('0.10.0');
    const bad = apply(setVersion('1.x'));
    expect(bad).toMatchObject({ ok: false });
    sm.reload();
    expect(sm.clusterVersion.get()).toBe('0.10.0');
    expect(db.prepare('SELECT version FROM cluster_version').pluck().get()).toBe('0.10.0');
  });
});

describe('ClusterVersion (leader side)', () => {
  const logger = createLogger({ node: 'n1', term: 0, role: 'follower' }, 'error');
  function setup(releases: Record<string, string | undefined>, leader = true) {
    const state = { applied: '', proposed: [] as string[] };
    const deps: ClusterVersionDeps = {
      self: 'n1',
      applied: () => state.applied,
      members: () => ['n1', ...Object.keys(releases)],
      releaseOf: (id) => releases[id],
      isLeader: () => leader,
      propose: async (data) => {
        const r = Command.decode(data).request;
        if (r?.$case === 'clusterVersionSet') state.proposed.push(r.clusterVersionSet.version);
      },
      logger,
    };
    return { cv: new ClusterVersion(deps), state };
  }

  test('the lowest release among the members once every one is known; not proposed below 0.3.0', async () => {
    const unknown = setup({ n2: '0.3.0', n3: undefined });
    expect(unknown.cv.membersMinimum()).toBeUndefined();
    await unknown.cv.check();
    expect(unknown.state.proposed).toEqual([]);

    const old = setup({ n2: '0.3.0', n3: '0.2.0' });
    expect(old.cv.membersMinimum()).toBe('0.2.0');
    await old.cv.check();
    expect(old.state.proposed).toEqual([]); // a v0.2.0 member could not apply cluster_version_set

    const all = setup({ n2: '0.3.0', n3: '0.3.0' });
    await all.cv.check();
    expect(all.state.proposed).toEqual(['0.3.0']);
    all.state.applied = '0.3.0';
    await all.cv.check();
    expect(all.state.proposed).toEqual(['0.3.0']); // not again
  });

  test('the propose path refuses a new kind while a member runs 0.2.0, with etcd\'s "not capable"', () => {
    const old = setup({ n2: '0.3.0', n3: '0.2.0' });
    expect(old.cv.admit(put)).toBeNull();
    const refused = old.cv.admit(setVersion('0.3.0'));
    expect(refused).toBeInstanceOf(NotCapableError);
    expect(refused?.message).toMatch(
      /^etcdserver: not capable: cluster_version_set needs cluster version 0\.3\.0, the cluster runs 0\.2\.0/,
    );

    const upgraded = setup({ n2: '0.3.0', n3: '0.3.0' });
    expect(upgraded.cv.admit(setVersion('0.3.0'))).toBeNull(); // the leader's view, before any is applied
    // A follower goes by the applied value only (it forwards to the leader anyway).
    const follower = setup({ n2: '0.3.0' }, false);
    expect(follower.cv.admit(setVersion('0.3.0'))).toBeInstanceOf(NotCapableError);
    follower.state.applied = '0.3.0';
    expect(follower.cv.admit(setVersion('0.3.0'))).toBeNull();
  });
});
