// Free TCP ports on the loopback interface, for nodes and servers a test starts.
import { createServer, type Server } from 'node:net';

function listening(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
}

function portOf(s: Server): number {
  const a = s.address();
  if (a === null || typeof a === 'string') throw new Error('no port');
  return a.port;
}

/** n distinct TCP ports free on 127.0.0.1 right now (held open together, so they differ, then released). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, listening));
  const ports = servers.map(portOf);
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port!;
}

/** A free port that is not among `taken` (e.g. the ports a cluster already uses). */
export async function freePortExcept(taken: Iterable<number>): Promise<number> {
  const avoid = new Set(taken);
  for (;;) {
    const p = await freePort();
    if (!avoid.has(p)) return p;
  }
}
