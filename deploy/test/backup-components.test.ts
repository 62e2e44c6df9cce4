// The backup and restore components (k8s/components/backup, k8s/components/restore), rendered the way an
// operator's restore overlay uses them (test/fixtures/three-backup-restore): the objects validate, the
// CronJob and the init container are wired as the runbook says, the CronJob's script keeps the newest
// files, and the whole restore runs on this machine: the rendered pods write keys, a backup is taken,
// every data dir is wiped, the rendered init container's script restores each pod's data dir, and the
// rendered pods, started again, serve the backup's keys as a new cluster.
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { ICronJob } from 'kubernetes-models/batch/v1/CronJob';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { writeBackupFile } from '@raftkv/server';
import { removeDir, tempDir, waitFor } from '@raftkv/testkit';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configMapsOf, containerEnv, findKubectl, only, renderKustomization, type K8sObject } from '../src/index.js';
import { ReadConsistency } from './grpc-clients.js';
import { localStatefulSet } from './local-fixture.js';
import { serverDir } from './local-statefulset.js';
import { deployDir } from './paths.js';

const NAMESPACE = 'default';
const kubectl = findKubectl();
const maybe = kubectl ? describe : describe.skip;
const RAFTCTL = `${process.execPath} ${join(serverDir, 'dist', 'cli', 'raftctl.js')}`;

maybe('backup and restore components (test/fixtures/three-backup-restore)', () => {
  const objects: K8sObject[] = kubectl ? renderKustomization(kubectl, join(deployDir, 'test', 'fixtures', 'three-backup-restore')) : [];
  const sts = () => only<IStatefulSet>(objects, 'StatefulSet', 'raftkv');
  const cron = () => only<ICronJob>(objects, 'CronJob', 'raftkv-backup');
  const init = (): IContainer => sts().spec!.template.spec!.initContainers!.find((c) => c.name === 'restore')!;
  const script = (configMap: string, file: string): string => {
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith(`${configMap}-`)) as IConfigMap | undefined;
    return cm!.data![file]!;
  };
  const work = tempDir('raftkv-backup-k8s-');
  afterAll(() => removeDir(work));
  const sh = (text: string, env: Record<string, string>) => {
    const path = join(work, `script-${Math.random().toString(36).slice(2)}.sh`);
    writeFileSync(path, text);
    return spawnSync('sh', [path], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env }, timeout: 60_000 });
  };

  test('the objects validate against the Kubernetes schema', () => {
    expect(() => new CronJob(cron() as never).validate()).not.toThrow();
    expect(() => new StatefulSet(sts() as never).validate()).not.toThrow();
    expect(() => new PersistentVolumeClaim(only(objects, 'PersistentVolumeClaim', 'raftkv-backup') as never).validate()).not.toThrow();
  });

  test('the CronJob saves through the client Service onto the backup PVC, one run at a time', () => {
    const spec = cron().spec!;
    expect(spec.concurrencyPolicy).toBe('Forbid');
    const pod = spec.jobTemplate.spec!.template.spec!;
    const c = pod.containers[0]!;
    expect(c.image).toBe(sts().spec!.template.spec!.containers[0]!.image);
    expect(init().image).toBe(c.image);
    expect(c.command).toEqual(['/bin/sh', '/etc/raftkv/backup/backup.sh']);
    const env = containerEnv(c, { fields: {}, configMaps: configMapsOf(objects) });
    expect(env['RAFTCTL_ENDPOINTS']).toBe('raftkv:7001');
    expect(Number(env['BACKUP_KEEP'])).toBeGreaterThan(0);
    const mount = c.volumeMounts!.find((m) => m.mountPath === env['BACKUP_DIR'])!;
    expect(pod.volumes!.find((v) => v.name === mount.name)!.persistentVolumeClaim!.claimName).toBe('raftkv-backup');
    expect(c.securityContext?.readOnlyRootFilesystem).toBe(true);
    expect(c.volumeMounts!.some((m) => m.mountPath === '/tmp')).toBe(true);
  });

  test('the backup script keeps the newest BACKUP_KEEP files and leaves other files alone', () => {
    const dir = join(work, 'backups');
    mkdirSync(dir);
    const old = ['raftkv-20260101T000000Z.db', 'raftkv-20260102T000000Z.db', 'raftkv-20260103T000000Z.db'];
    for (const f of [...old, 'notes.txt']) writeFileSync(join(dir, f), 'x');
    // raftctl stand-in: save writes a file, status succeeds (the real ones run in the restore test).
    const fake = join(work, 'fake-raftctl');
    writeFileSync(fake, '#!/bin/sh\nif [ "$2" = save ]; then echo backup > "$3"; fi\necho "raftctl $*"\n');
    chmodSync(fake, 0o755);
    const r = sh(script('raftkv-backup-script', 'backup.sh'), { RAFTCTL: fake, BACKUP_DIR: dir, BACKUP_KEEP: '2' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const left = readdirSync(dir).sort();
    expect(left).toHaveLength(3);
    expect(left).toContain('notes.txt');
    expect(left).toContain(old[2]);
    expect(left.find((f) => !old.includes(f) && f !== 'notes.txt')).toMatch(/^raftkv-\d{8}T\d{6}Z\.db$/);
    expect(sh(script('raftkv-backup-script', 'backup.sh'), { RAFTCTL: fake, BACKUP_DIR: dir, BACKUP_KEEP: '0' }).status).toBe(2);
  });

  test('the init container restores member raftkv-<i> of the spec.replicas members, with the tuning cluster id', () => {
    const env = containerEnv(init(), {
      fields: { 'metadata.name': 'raftkv-1', 'metadata.namespace': NAMESPACE },
      configMaps: configMapsOf(objects),
    });
    expect(env['RAFTKV_REPLICAS']).toBe(String(sts().spec!.replicas));
    expect(env['RAFTKV_CLUSTER_ID']).toBe('raftkv-restored-1');
    expect(env['RAFTKV_RESTORE_FILE']).toBe('/backup/raftkv-20261202T061700Z.db');
    const mounts = new Map(init().volumeMounts!.map((m) => [m.mountPath, m]));
    expect(mounts.get(env['RAFTKV_DATA_DIR']!)!.name).toBe('data');
    expect(mounts.get('/backup')!.readOnly).toBe(true);
    // The script's call, seen through a raftctl stand-in.
    const fake = join(work, 'echo-raftctl');
    writeFileSync(fake, '#!/bin/sh\necho "$*" > "$RAFTCTL_SEEN"; exit 1\n');
    chmodSync(fake, 0o755);
    const seen = join(work, 'seen');
    const dataDir = join(work, 'data-1');
    mkdirSync(join(dataDir, 'lost+found'), { recursive: true });
    const r = sh(script('raftkv-restore-script', 'restore.sh'), { ...env, RAFTKV_DATA_DIR: dataDir, RAFTCTL: fake, RAFTCTL_SEEN: seen });
    expect(r.status).not.toBe(0); // the stand-in failed: so does the init container (the pod does not start)
    const peers = [0, 1, 2].map((i) => `raftkv-${i}=raftkv-${i}.raftkv-peer.${NAMESPACE}.svc.cluster.local:7003`).join(',');
    expect(spawnSync('cat', [seen], { encoding: 'utf8' }).stdout.trim()).toBe(
      `snapshot restore /backup/raftkv-20261202T061700Z.db --data-dir ${dataDir}/.restored --id raftkv-1 --peers ${peers} ` +
        '--cluster-id raftkv-restored-1',
    );
  });

  describe('on this machine', () => {
    const fixture = localStatefulSet();
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);

    test('pods restored by the init container serve the backup as a new cluster', async () => {
      const set = await fixture.create(objects, { namespace: NAMESPACE });
      const pods = set.pods;
      const client = (i: number) => fixture.clients[i]!;
      const leader = async (): Promise<number> =>
        waitFor(
          'a leader',
          async () => {
            const s = await client(0)
              .status(2_000)
              .catch(() => undefined);
            const i = pods.findIndex((p) => p.name === s?.leaderId);
            return i >= 0 ? i : undefined;
          },
          60_000,
        );
      try {
        for (const p of pods) p.start();
        let l = await leader();
        for (const [n, k] of keys.entries()) await client(l).put(k, Buffer.from(`v${n}`), 'writer', n + 1, 10_000);
        const file = join(work, 'raftkv-20261202T061700Z.db');
        expect(writeBackupFile(join(pods[l]!.env['RAFTKV_DATA_DIR']!, 'raftkv.db'), file)).not.toBeNull();
        // The disaster: every pod stopped, every PVC emptied.
        for (const p of pods) await p.stop('SIGKILL', 5_000);
        for (const p of pods) rmSync(p.env['RAFTKV_DATA_DIR']!, { recursive: true, force: true });

        const restore = script('raftkv-restore-script', 'restore.sh');
        for (const p of pods) {
          const env = containerEnv(init(), {
            fields: { 'metadata.name': p.name, 'metadata.namespace': NAMESPACE },
            configMaps: configMapsOf(objects),
          });
          const dir = p.env['RAFTKV_DATA_DIR']!;
          mkdirSync(dir, { recursive: true });
          const run = () => sh(restore, { ...env, RAFTKV_DATA_DIR: dir, RAFTKV_RESTORE_FILE: file, RAFTCTL });
          const r = run();
          expect(r.stderr + r.stdout).toContain(`${p.name} restored`);
          expect(r.status).toBe(0);
          expect(existsSync(join(dir, 'raftkv.db'))).toBe(true);
          // Run again (a pod restart): the data dir is left as it is.
          expect(run().stdout).toContain('leaving it as it is');
        }
        // The pods' own env (tuning ConfigMap) names the restored cluster id the data dirs recorded.
        expect(pods[0]!.env['RAFTKV_CLUSTER_ID']).toBe('raftkv-restored-1');
        for (const p of pods) p.start();
        l = await leader();
        for (const [n, k] of keys.entries()) {
          const r = await client(l).read(k, ReadConsistency.READ_CONSISTENCY_LINEARIZABLE, 10_000);
          expect(r.value.toString()).toBe(`v${n}`);
        }
        await client(l).put('after-restore', Buffer.from('1'), 'writer2', 1, 10_000);
      } catch (e) {
        fixture.dumpLogs();
        throw e;
      }
    }, 180_000);
  });
});
