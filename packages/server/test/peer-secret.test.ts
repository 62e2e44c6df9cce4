// The shared-secret stream start (peer/peer-secret.ts) without processes: what proves a sender, and
// every way a start is refused (wrong secret, another receiver or cluster, replay, outside the window,
// older than the receiving process, missing or malformed fields).
import { Metadata } from '@grpc/grpc-js';
import { PeerAuthError, PeerSecretVerifier, signPeerCall, WINDOW_MS } from '../src/peer/peer-secret.js';

const secret = Buffer.from('0123456789abcdef0123456789abcdef');
const SEND = '/raftkv.v1.Raft/Send';

function verifier(now: { t: number }): PeerSecretVerifier {
  return new PeerSecretVerifier(secret, 'raftkv', 'n1', () => now.t);
}

const why = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof PeerAuthError) return e.message;
    throw e;
  }
  return 'accepted';
};

test('a fresh start proves its sender once; its replay is refused', () => {
  const now = { t: 1_000_000 };
  const v = verifier(now);
  const md = signPeerCall(secret, 'raftkv', 'n2', 'n1', SEND, now.t + 10);
  now.t += 20;
  expect(v.verify(md, SEND)).toBe('n2');
  expect(why(() => v.verify(md, SEND))).toBe('replayed stream start');
  // Long after, the nonce is forgotten but the start is outside the window.
  now.t += 3 * WINDOW_MS;
  expect(why(() => v.verify(md, SEND))).toMatch(/outside/);
});

test('wrong secret, receiver, cluster or method: bad credentials', () => {
  const now = { t: 5_000_000 };
  const v = verifier(now);
  const other = Buffer.from('another secret of thirty-two bytes!!');
  expect(why(() => v.verify(signPeerCall(other, 'raftkv', 'n2', 'n1', SEND, now.t), SEND))).toMatch(/bad peer credentials from "n2"/);
  expect(why(() => v.verify(signPeerCall(secret, 'raftkv', 'n2', 'n3', SEND, now.t), SEND))).toMatch(/bad peer credentials/);
  expect(why(() => v.verify(signPeerCall(secret, 'other', 'n2', 'n1', SEND, now.t), SEND))).toMatch(/bad peer credentials/);
  expect(why(() => v.verify(signPeerCall(secret, 'raftkv', 'n2', 'n1', SEND, now.t), '/raftkv.v1.Raft/InstallSnapshot'))).toMatch(
    /bad peer credentials/,
  );
});

test('a start older than the receiving process is refused (a restart forgets nonces)', () => {
  const now = { t: 9_000_000 };
  const captured = signPeerCall(secret, 'raftkv', 'n2', 'n1', SEND, now.t - 5);
  const v = verifier(now);
  expect(why(() => v.verify(captured, SEND))).toMatch(/predates this process/);
});

test('missing or malformed fields', () => {
  const now = { t: 9_000_000 };
  const v = verifier(now);
  expect(why(() => v.verify(new Metadata(), SEND))).toMatch(/no peer credentials/);
  const md = signPeerCall(secret, 'raftkv', 'n2', 'n1', SEND, now.t);
  md.set('raftkv-peer-mac', 'zz');
  expect(why(() => v.verify(md, SEND))).toMatch(/bad peer credentials/);
  const md2 = signPeerCall(secret, 'raftkv', 'n2', 'n1', SEND, now.t);
  md2.set('raftkv-peer-ts', '12e5');
  expect(why(() => v.verify(md2, SEND))).toBe('malformed peer credentials');
  const md3 = signPeerCall(secret, 'raftkv', 'n2', 'n1', SEND, now.t);
  md3.add('raftkv-peer-from', 'n3');
  expect(why(() => v.verify(md3, SEND))).toMatch(/no peer credentials/);
});
