// Keepalive enforcement (grpc/ping-policy.ts) on a real node with --peer-listen, over raw HTTP/2
// connections: a connection that pings the client port faster than every 5 s (etcd's
// --grpc-keepalive-min-time) is sent GOAWAY ENHANCE_YOUR_CALM "too_many_pings" and closed; the peer
// port allows the 2 s peers ping at, but not a flood.
import { freePorts, sleep } from '@raftkv/testkit';
import http2, { type ClientHttp2Session } from 'node:http2';
import { TestCluster } from './harness.js';

interface GoAway {
  readonly code: number;
  readonly data: string;
}

/** Pings `address` every `everyMs`, `count` times at most; the GOAWAY it got, if any. */
async function pinger(address: string, everyMs: number, count: number): Promise<GoAway | null> {
  const session: ClientHttp2Session = http2.connect(`http://${address}`);
  let goaway: GoAway | null = null;
  session.on('goaway', (code: number, _last: number, data?: Buffer) => (goaway = { code, data: data?.toString() ?? '' }));
  session.on('error', () => undefined); // the server closing the connection after its GOAWAY
  try {
    await new Promise<void>((resolve, reject) => session.once('connect', () => resolve()).once('error', reject));
    for (let i = 0; i < count && goaway === null && !session.closed; i++) {
      session.ping(() => undefined);
      await sleep(everyMs);
    }
    await sleep(200); // a GOAWAY for the last ping
    return goaway;
  } finally {
    session.destroy();
  }
}

describe('keepalive enforcement', () => {
  let c: TestCluster;
  let peerAddress = '';

  beforeAll(async () => {
    const [peerPort] = await freePorts(1);
    peerAddress = `127.0.0.1:${peerPort}`;
    c = await TestCluster.start({ size: 1, nodeFlags: () => ['--peers', `n1=${peerAddress}`, '--peer-listen', peerAddress] });
    await c.waitForLeader();
  });
  afterAll(async () => {
    await c?.stop();
  });

  test('the client port sends too_many_pings to a connection pinging every 100 ms', async () => {
    expect(await pinger(c.node('n1').address, 100, 30)).toEqual({
      code: http2.constants.NGHTTP2_ENHANCE_YOUR_CALM,
      data: 'too_many_pings',
    });
  });

  test('the client port allows a ping every 5 s', async () => {
    expect(await pinger(c.node('n1').address, 5100, 3)).toBeNull();
  }, 30_000);

  test('the peer port allows a ping every 2 s (peer channels), not a flood', async () => {
    expect(await pinger(peerAddress, 2000, 5)).toBeNull();
    expect(await pinger(peerAddress, 100, 30)).toEqual({ code: http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, data: 'too_many_pings' });
  }, 30_000);
});
