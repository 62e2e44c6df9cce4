// Who may use the live view. Without --http-token-file it binds to loopback only (config.ts) and
// accepts only loopback Host names, so a DNS-rebinding page cannot reach it; with a token, every
// request must carry it (`?token=` once, which sets an HttpOnly SameSite=Strict cookie, or that
// cookie). A request from another origin (its Origin header names another host) is refused either way.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DevControls } from './dev-controls.js';

const COOKIE = 'raftkv_live';

export interface Refusal {
  readonly status: number;
  readonly message: string;
}

const same = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

function cookie(req: IncomingMessage, name: string): string | null {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return null;
}

/** null when the request may proceed (a token given in the URL is then also set as a cookie on `res`). */
export function guardLiveView(req: IncomingMessage, url: URL, res: ServerResponse, token: string | null): Refusal | null {
  const host = req.headers.host ?? '';
  let hostname: string;
  try {
    hostname = new URL(`http://${host}`).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return { status: 400, message: 'bad Host header' };
  }
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${host}` && origin !== `https://${host}`)
    return { status: 403, message: 'cross-origin requests are refused' };
  if (token === null)
    return DevControls.isLoopback(hostname) ? null : { status: 403, message: 'the live view answers loopback names only' };
  const given = url.searchParams.get('token');
  if (given !== null && same(given, token)) {
    res.setHeader('set-cookie', `${COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`);
    return null;
  }
  const c = cookie(req, COOKIE);
  if (c !== null && same(decodeURIComponent(c), token)) return null;
  return { status: 401, message: 'the live view needs its token: open it as /?token=...' };
}

/** HTTP Basic credentials (the viewer's etcd user), or null. */
export function basicCredentials(req: IncomingMessage): { user: string; password: string } | null {
  const h = req.headers.authorization ?? '';
  if (!h.startsWith('Basic ')) return null;
  const text = Buffer.from(h.slice(6), 'base64').toString('utf8');
  const i = text.indexOf(':');
  return i < 0 ? null : { user: text.slice(0, i), password: text.slice(i + 1) };
}
