// Dev-cluster controls (--dev-controls HOST:PORT, given by scripts/cluster.mjs only): the cluster
// script listens there and stops or starts its node processes on request. The node just relays what
// the live view's buttons ask for. Loopback only: this is a developer's toy, not an admin API.
import { request } from 'node:http';
import type { HostPort } from '../grpc/address.js';
import { HttpError } from './listen.js';

export class DevControls {
  constructor(private readonly at: HostPort) {}

  static isLoopback(host: string): boolean {
    return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
  }

  /** POST /nodes/<id>/<action> to the cluster script; rejects with its error text. */
  request(action: 'stop' | 'start', id: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = request(
        { host: this.at.host, port: this.at.port, method: 'POST', path: `/nodes/${encodeURIComponent(id)}/${action}`, timeout: 5000 },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          const code = res.statusCode ?? 502;
          res.on('end', () => (code < 300 ? resolve() : reject(new HttpError(code, text.trim() || `dev controls answered ${code}`))));
        },
      );
      req.on('timeout', () => req.destroy(new HttpError(504, 'dev controls did not answer')));
      req.on('error', reject);
      req.end();
    });
  }
}
