// HOST:PORT, the one shape of every address a node listens on, dials or is told about.

export interface HostPort {
  /** The host without IPv6 brackets. */
  readonly host: string;
  readonly port: number;
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/;

/**
 * Parses HOST:PORT (IPv6 hosts in brackets); null unless the port is within [minPort, maxPort].
 * Port 0 (any free port) suits a listener; a peer's address needs minPort 1.
 */
export function parseHostPort(v: string, minPort = 0, maxPort = 65535): HostPort | null {
  const m = HOST_PORT.exec(v);
  const port = Number(m?.[2]);
  if (!m || port < minPort || port > maxPort) return null;
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}
