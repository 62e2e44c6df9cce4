// raftctl's `lease grant|revoke|timetolive|list|keep-alive`: etcdctl 3.4's lease commands (ctlv3
// lease_command.go) with its simple printer's output (printer_simple.go), messages and exit codes.
import { isServiceError, type RaftkvClient } from '@raftkv/client';
import type { etcdserverpb } from '@raftkv/proto';
import { EXIT, EtcdctlError } from './ops.js';
import type { Write } from './printers.js';

export const LEASE_FLAGS = {
  keys: { type: 'boolean' },
  once: { type: 'boolean' },
} as const;

export interface LeaseFlags {
  readonly keys?: boolean | undefined;
  readonly once?: boolean | undefined;
}

/** Go's %016x of an int64: zero-padded to 16 characters, a minus sign counting as one. */
export function leaseHex(id: number): string {
  const digits = Math.abs(id).toString(16);
  return id < 0 ? `-${digits.padStart(15, '0')}` : digits.padStart(16, '0');
}

/** strconv.ParseInt(s, base, 64) as etcdctl calls it, to a JS number (ids above 2^53 are out of range here). */
function parseInt64(s: string, base: 10 | 16): number {
  const ok = base === 16 ? /^[+-]?[0-9a-fA-F]+$/.test(s) : /^[+-]?[0-9]+$/.test(s);
  if (!ok) throw new Error(`strconv.ParseInt: parsing ${JSON.stringify(s)}: invalid syntax`);
  const v = Number.parseInt(s, base);
  if (!Number.isSafeInteger(v)) throw new Error(`strconv.ParseInt: parsing ${JSON.stringify(s)}: value out of range`);
  return v;
}

function leaseArg(s: string): number {
  try {
    return parseInt64(s, 16);
  } catch (e) {
    throw new EtcdctlError(EXIT.badArgs, `bad lease ID arg (${(e as Error).message}), expecting ID in Hex`, { cause: e });
  }
}

/** A failed call as etcdctl words it: `prefix (message)` when the command wraps it, the message alone otherwise. */
function failed(e: unknown, exitCode: number, wrap?: string): never {
  if (!isServiceError(e)) throw e;
  throw new EtcdctlError(exitCode, wrap === undefined ? e.details : `${wrap} (${e.details})`, { cause: e });
}

export async function runLeaseCommand(args: readonly string[], f: LeaseFlags, client: RaftkvClient, out: Write): Promise<void> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'grant': {
      if (rest.length !== 1) throw new EtcdctlError(EXIT.badArgs, 'lease grant command needs TTL argument');
      let ttl: number;
      try {
        ttl = parseInt64(rest[0]!, 10);
      } catch (e) {
        throw new EtcdctlError(EXIT.badArgs, `bad TTL (${(e as Error).message})`, { cause: e });
      }
      const r = await client.lease.grant({ TTL: ttl }).catch((e: unknown) => failed(e, EXIT.error, 'failed to grant lease'));
      out(`lease ${leaseHex(r.ID)} granted with TTL(${r.TTL}s)\n`);
      return;
    }
    case 'revoke': {
      if (rest.length !== 1) throw new EtcdctlError(EXIT.badArgs, 'lease revoke command needs 1 argument');
      const id = leaseArg(rest[0]!);
      await client.lease.revoke(id).catch((e: unknown) => failed(e, EXIT.error, 'failed to revoke lease'));
      out(`lease ${leaseHex(id)} revoked\n`);
      return;
    }
    case 'timetolive': {
      if (rest.length !== 1) throw new EtcdctlError(EXIT.badArgs, 'lease timetolive command needs lease ID as argument');
      const id = leaseArg(rest[0]!);
      const r = await client.lease.timeToLive(id, f.keys === true).catch((e: unknown) => failed(e, EXIT.badConnection));
      out(timeToLiveText(r, f.keys === true));
      return;
    }
    case 'list': {
      const r = await client.lease.leases().catch((e: unknown) => failed(e, EXIT.badConnection));
      out(`found ${r.leases.length} leases\n${r.leases.map((l) => `${leaseHex(l.ID)}\n`).join('')}`);
      return;
    }
    case 'keep-alive': {
      if (rest.length !== 1) throw new EtcdctlError(EXIT.badArgs, 'lease keep-alive command needs lease ID as argument');
      const id = leaseArg(rest[0]!);
      if (f.once === true) {
        const r = await keepAliveOnce(client, id).catch((e: unknown) => failed(e, EXIT.badConnection));
        if (r.TTL <= 0) throw new EtcdctlError(EXIT.badConnection, 'etcdserver: requested lease not found');
        out(keptAliveText(r));
        return;
      }
      await keepAlive(client, id, out);
      out(`lease ${leaseHex(id)} expired or revoked.\n`);
      return;
    }
    default:
      throw new EtcdctlError(
        EXIT.badArgs,
        'lease takes grant <ttl> | revoke <id> | timetolive <id> [--keys] | list | keep-alive [--once] <id>',
      );
  }
}

function timeToLiveText(r: etcdserverpb.LeaseTimeToLiveResponse, keys: boolean): string {
  if (r.grantedTTL === 0 && r.TTL === -1) return `lease ${leaseHex(r.ID)} already expired\n`;
  const ks = keys ? `, attached keys([${r.keys.map((k) => k.toString('utf8')).join(' ')}])` : '';
  return `lease ${leaseHex(r.ID)} granted with TTL(${r.grantedTTL}s), remaining(${r.TTL}s)${ks}\n`;
}

const keptAliveText = (r: etcdserverpb.LeaseKeepAliveResponse): string => `lease ${leaseHex(r.ID)} keepalived with TTL(${r.TTL})\n`;

/** One request on a keep-alive stream, its answer (clientv3's KeepAliveOnce). */
function keepAliveOnce(client: RaftkvClient, id: number): Promise<etcdserverpb.LeaseKeepAliveResponse> {
  return new Promise((resolve, reject) => {
    const s = client.lease.keepAlive();
    s.once('data', (r: etcdserverpb.LeaseKeepAliveResponse) => {
      resolve(r);
      s.cancel();
    });
    s.once('error', (e) => reject(e));
    s.write({ ID: id });
  });
}

/**
 * clientv3's KeepAlive as etcdctl prints it: a renewal now and then a third of the TTL after each answer,
 * every answer printed, until one says the lease is gone (TTL <= 0). A broken stream is opened again.
 */
async function keepAlive(client: RaftkvClient, id: number, out: Write): Promise<void> {
  for (;;) {
    const gone = await new Promise<boolean>((resolve) => {
      const s = client.lease.keepAlive();
      let timer: NodeJS.Timeout | undefined;
      s.on('data', (r: etcdserverpb.LeaseKeepAliveResponse) => {
        if (r.TTL <= 0) {
          s.cancel();
          resolve(true);
          return;
        }
        out(keptAliveText(r));
        timer = setTimeout(() => s.write({ ID: id }), Math.max(500, (r.TTL * 1000) / 3));
      });
      s.once('error', () => {
        clearTimeout(timer);
        resolve(false);
      });
      s.write({ ID: id });
    });
    if (gone) return;
    await new Promise((r) => setTimeout(r, 500));
  }
}
