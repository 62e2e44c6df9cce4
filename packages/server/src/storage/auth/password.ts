// Password hashing with scrypt (node:crypto; etcd uses bcrypt). The proposer hashes with a fresh salt
// and the hash travels in the command, so applying stays deterministic. Both run off the event loop
// (libuv's thread pool). Encoding: "scrypt$N$r$p$salt$hash", salt and hash base64.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const N = 16384;
const R = 8;
const P = 1;
const KEY_LEN = 32;

function derive(password: string, salt: Buffer, o: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(password, salt, KEY_LEN, o, (err, key) => (err ? reject(err) : resolve(key))));
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, { N, r: R, p: P });
  return ['scrypt', N, R, P, salt.toString('base64'), key.toString('base64')].join('$');
}

/** Whether `password` matches `encoded`; false for anything malformed (and for a user without password). */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const salt = Buffer.from(parts[4]!, 'base64');
  const want = Buffer.from(parts[5]!, 'base64');
  if (want.length !== KEY_LEN || ![n, r, p].every(Number.isSafeInteger)) return false;
  const got = await derive(password, salt, { N: n, r, p, maxmem: 256 * n * r + (1 << 20) });
  return timingSafeEqual(got, want);
}
