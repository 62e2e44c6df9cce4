// raftctl's `snapshot save|status|restore`, with etcdctl 3.4's output, messages and exit codes
// (etcdctl/ctlv3/command/snapshot_command.go). save reads etcd's Maintenance.Snapshot stream from one
// member into FILE.part, checks the checksum at its end, fsyncs and renames it to FILE; status and
// restore work on a file (storage/backup-file.ts, storage/restore.ts). etcdctl's restore flags are
// accepted as aliases: --name (--id), --initial-cluster (--peers, URL schemes dropped),
// --initial-cluster-token (--cluster-id).
import { credentialsOf, type TlsOptions } from '@raftkv/client';
import { etcdserverpb } from '@raftkv/proto';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseHostPort } from '../grpc/address.js';
import { BackupFileError, CHECKSUM_BYTES, hasChecksum, writeBackupFile } from '../storage/backup-file.js';
import { backupStatus, type BackupStatus } from '../storage/backup-status.js';
import { restoreDataDir } from '../storage/restore.js';
import { fsyncDir } from '../storage/snapshot-store.js';
import { EXIT, EtcdctlError } from './etcd/ops.js';
import type { EtcdIo } from './etcd/commands.js';
import { withToken } from './etcd/auth-session.js';
import { reason } from './etcd/cluster-commands.js';

/** etcdctl's ExitInterrupted: snapshot save failed. */
const EXIT_INTERRUPTED = 5;

export const SNAPSHOT_FLAGS = {
  'data-dir': { type: 'string' },
  id: { type: 'string' },
  name: { type: 'string' },
  peers: { type: 'string' },
  'initial-cluster': { type: 'string' },
  'cluster-id': { type: 'string' },
  'initial-cluster-token': { type: 'string' },
  'skip-hash-check': { type: 'boolean' },
} as const;

export interface SnapshotFlags {
  readonly 'data-dir'?: string | undefined;
  readonly id?: string | undefined;
  readonly name?: string | undefined;
  readonly peers?: string | undefined;
  readonly 'initial-cluster'?: string | undefined;
  readonly 'cluster-id'?: string | undefined;
  readonly 'initial-cluster-token'?: string | undefined;
  readonly 'skip-hash-check'?: boolean | undefined;
  readonly 'write-out'?: string | undefined;
}

export interface SnapshotTarget {
  readonly endpoints: readonly string[];
  readonly tls: TlsOptions | undefined;
  /** The deadline of the whole save (etcdctl: none unless --command-timeout is given). */
  readonly timeoutMs: number | null;
  /** The --user's auth token (a snapshot needs root). */
  readonly token?: string | null;
}

export async function runSnapshotCommand(args: readonly string[], f: SnapshotFlags, target: SnapshotTarget, io: EtcdIo): Promise<number> {
  try {
    const [sub, ...rest] = args;
    switch (sub) {
      case 'save':
        if (rest.length !== 1) throw new EtcdctlError(EXIT.badArgs, 'snapshot save expects one argument');
        if (f['data-dir'] === undefined) await save(rest[0]!, target);
        else saveOffline(f['data-dir'], rest[0]!);
        io.out(`Snapshot saved at ${rest[0]}\n`);
        return 0;
      case 'status':
        if (rest.length !== 1) throw new EtcdctlError(EXIT.badArgs, 'snapshot status requires exactly one argument');
        io.out(formatStatus(statusOf(rest[0]!), f['write-out'] ?? 'simple'));
        return 0;
      case 'restore':
        if (rest.length !== 1) throw new EtcdctlError(EXIT.badArgs, 'snapshot restore requires exactly one argument');
        restore(rest[0]!, f, io);
        return 0;
      default:
        throw new EtcdctlError(EXIT.badArgs, 'snapshot takes save, status or restore');
    }
  } catch (e) {
    if (e instanceof EtcdctlError) {
      io.err(`Error: ${e.message}`);
      return e.exitCode;
    }
    throw e;
  }
}

function statusOf(path: string): BackupStatus {
  try {
    return backupStatus(path);
  } catch (e) {
    if (e instanceof BackupFileError) throw new EtcdctlError(EXIT.error, e.message, { cause: e });
    throw e;
  }
}

/** Tries each endpoint in turn until one streams a whole snapshot. */
async function save(path: string, t: SnapshotTarget): Promise<void> {
  const errors: string[] = [];
  for (const endpoint of t.endpoints) {
    try {
      await saveFrom(endpoint, path, t);
      return;
    } catch (e) {
      if (e instanceof EtcdctlError) throw e;
      errors.push(t.endpoints.length === 1 ? reason(e) : `${endpoint}: ${(e as { details?: string }).details ?? (e as Error).message}`);
    }
  }
  // One endpoint (etcdctl's only case): its error as etcdctl prints it.
  throw new EtcdctlError(EXIT_INTERRUPTED, errors.join('; '));
}

/**
 * `snapshot save FILE --data-dir DIR`: the state a member's data dir has applied, read from its database
 * (the member stopped, or running: the snapshot builder's read transaction is consistent either way).
 * For a member that cannot serve, e.g. the survivor of a lost quorum.
 */
function saveOffline(dataDir: string, path: string): void {
  const db = join(dataDir, 'raftkv.db');
  if (!existsSync(db)) throw new EtcdctlError(EXIT_INTERRUPTED, `${db} does not exist (not a raftkv data dir)`);
  if (writeBackupFile(db, path) === null) throw new EtcdctlError(EXIT_INTERRUPTED, `${dataDir} has applied nothing yet to back up`);
}

function saveFrom(endpoint: string, path: string, t: SnapshotTarget): Promise<void> {
  const part = `${path}.part`;
  const { creds, options } = credentialsOf(t.tls);
  const client = new etcdserverpb.MaintenanceClient(endpoint, creds, withToken(options, t.token));
  let fd: number;
  try {
    fd = openSync(part, 'w', 0o600);
  } catch (e) {
    client.close();
    throw new EtcdctlError(EXIT_INTERRUPTED, `could not open ${part} (${(e as Error).message})`, { cause: e });
  }
  const h = createHash('sha256');
  // The last 32 bytes seen are the checksum, not data: hashed only once more bytes follow them.
  let tail = Buffer.alloc(0);
  let size = 0;
  return new Promise<void>((resolve, reject) => {
    const call = client.snapshot({}, t.timeoutMs === null ? {} : { deadline: Date.now() + t.timeoutMs });
    call.on('data', (r: etcdserverpb.SnapshotResponse) => {
      const blob = Buffer.from(r.blob);
      writeSync(fd, blob);
      size += blob.length;
      const all = Buffer.concat([tail, blob]);
      const keep = Math.min(CHECKSUM_BYTES, all.length);
      h.update(all.subarray(0, all.length - keep));
      tail = all.subarray(all.length - keep);
    });
    call.on('error', reject);
    call.on('end', () => {
      if (!hasChecksum(size)) reject(new EtcdctlError(EXIT_INTERRUPTED, `sha256 checksum not found [bytes: ${size}]`));
      else if (!h.digest().equals(tail)) reject(new EtcdctlError(EXIT_INTERRUPTED, 'sha256 checksum mismatch: the stream was corrupted'));
      else resolve();
    });
  })
    .then(() => {
      fsyncSync(fd);
      closeSync(fd);
      renameSync(part, path);
      fsyncDir(dirname(path));
    })
    .finally(() => {
      client.close();
      try {
        closeSync(fd);
      } catch {
        // closed above
      }
      rmSync(part, { force: true });
    });
}

/** etcdctl's DBStatus in its four formats (printer_simple/table/json/fields.go). */
export function formatStatus(s: BackupStatus, format: string): string {
  const row = [s.hash.toString(16), String(s.revision), String(s.totalKey), humanBytes(s.totalSize)];
  switch (format) {
    case 'simple':
      return row.join(', ') + '\n';
    case 'json':
      return JSON.stringify({ hash: s.hash, revision: s.revision, totalKey: s.totalKey, totalSize: s.totalSize }) + '\n';
    case 'fields':
      return `"Hash" : ${s.hash}\n"Revision" : ${s.revision}\n"Keys" : ${s.totalKey}\n"Size" : ${s.totalSize}\n`;
    case 'table':
      return goTable(['HASH', 'REVISION', 'TOTAL KEYS', 'TOTAL SIZE'], [row]);
    default:
      throw new EtcdctlError(EXIT.badFeature, 'unsupported output format');
  }
}

/** go-humanize's Bytes: SI units, one decimal below 10. */
export function humanBytes(n: number): string {
  if (n < 10) return `${n} B`;
  const sizes = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  const e = Math.floor(Math.log(n) / Math.log(1000));
  const val = Math.floor((n / 1000 ** e) * 10 + 0.5) / 10;
  return `${val < 10 ? val.toFixed(1) : halfEven(val)} ${sizes[e]}`;
}

/** Go's %.0f: the nearest integer, ties to even (20.5 -> 20), where toFixed(0) rounds ties up. */
function halfEven(v: number): string {
  const f = Math.floor(v);
  const d = v - f;
  return String(d > 0.5 || (d === 0.5 && f % 2 === 1) ? f + 1 : f);
}

/** olekukonko/tablewriter as etcdctl uses it: headers centered, cells right-aligned. */
export function goTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = '+' + w.map((n) => '-'.repeat(n + 2)).join('+') + '+\n';
  const center = (s: string, n: number): string => {
    const left = Math.floor((n - s.length) / 2);
    return ' '.repeat(left) + s + ' '.repeat(n - s.length - left);
  };
  const hdr = '| ' + header.map((h, i) => center(h, w[i]!)).join(' | ') + ' |\n';
  const body = rows.map((r) => '| ' + r.map((c, i) => c.padStart(w[i]!)).join(' | ') + ' |\n').join('');
  return line + hdr + line + body + line;
}

/** `--peers id=host:port,...` or etcd's `--initial-cluster name=http://host:port,...`. */
export function parseMembers(flag: string, v: string): Map<string, string> {
  const peers = new Map<string, string>();
  for (const part of v.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new EtcdctlError(EXIT.badArgs, `--${flag}: ${JSON.stringify(part)} is not ID=HOST:PORT`);
    const id = part.slice(0, eq).trim();
    const address = part
      .slice(eq + 1)
      .trim()
      .replace(/^[a-z]+:\/\//, '')
      .replace(/\/$/, '');
    if (parseHostPort(address, 1) === null) throw new EtcdctlError(EXIT.badArgs, `--${flag}: ${JSON.stringify(address)} is not HOST:PORT`);
    if (peers.has(id)) throw new EtcdctlError(EXIT.badArgs, `--${flag}: lists ${id} twice`);
    peers.set(id, address);
  }
  return peers;
}

function restore(file: string, f: SnapshotFlags, io: EtcdIo): void {
  const id = f.id ?? f.name;
  const peersFlag = f.peers === undefined ? 'initial-cluster' : 'peers';
  const peersRaw = f.peers ?? f['initial-cluster'];
  if (f['data-dir'] === undefined) throw new EtcdctlError(EXIT.badArgs, '--data-dir is required');
  if (id === undefined) throw new EtcdctlError(EXIT.badArgs, "--id is required (this member's id, one of --peers)");
  if (peersRaw === undefined) throw new EtcdctlError(EXIT.badArgs, '--peers is required (id=host:port of every member)');
  const peers = parseMembers(peersFlag, peersRaw);
  try {
    const r = restoreDataDir({
      file,
      dataDir: f['data-dir'],
      id,
      peers,
      clusterId: f['cluster-id'] ?? f['initial-cluster-token'],
      skipHashCheck: f['skip-hash-check'] === true,
    });
    io.err(
      `restored snapshot ${file} (index ${r.index}, term ${r.term}, revision ${r.revision}) into ${f['data-dir']} ` +
        `as member ${id} of a new cluster ${r.clusterId} (${[...peers.keys()].join(', ')})`,
    );
    io.err(
      `start it with: raftkv --id ${id} --data-dir ${f['data-dir']} --cluster-id ${r.clusterId} ` +
        `--peers ${[...peers].map(([k, a]) => `${k}=${a}`).join(',')}`,
    );
  } catch (e) {
    if (e instanceof BackupFileError) throw new EtcdctlError(EXIT.error, e.message, { cause: e });
    throw e;
  }
}
