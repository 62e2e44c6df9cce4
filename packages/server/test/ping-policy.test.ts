// The ping policy's strike rule on a stand-in session: pings sooner than the minimum count only when
// the node sent nothing but control frames since the previous one, a ping after a longer pause clears
// the strikes, and the third strike past grpc's two ends the connection with too_many_pings.
import { EventEmitter } from 'node:events';
import { constants, type Http2Session } from 'node:http2';
import { policePings, setMinPingInterval } from '../src/grpc/ping-policy.js';

const PORT = 1; // no real server listens there in this process

class FakeSession extends EventEmitter {
  readonly socket = { localPort: PORT, bytesWritten: 0 };
  closed = false;
  destroyed = false;
  goaways: [number, number, string][] = [];
  goaway(code: number, last: number, data: Buffer): void {
    this.goaways.push([code, last, data.toString()]);
  }
  close(): void {
    this.closed = true;
  }
}

describe('ping policy', () => {
  let t = 0;
  let s: FakeSession;
  const ping = (afterMs: number, written = 17): void => {
    t += afterMs;
    s.socket.bytesWritten += written; // 17: the ACK of the previous ping
    s.emit('ping');
  };

  beforeEach(() => {
    setMinPingInterval(PORT, 1000);
    t = 0;
    s = new FakeSession();
    policePings(s as unknown as Http2Session, () => t);
  });

  test('three pings too soon after the first: GOAWAY too_many_pings, and the session closes', () => {
    for (let i = 0; i < 3; i++) ping(100);
    expect(s.goaways).toEqual([]);
    ping(100);
    expect(s.goaways).toEqual([[constants.NGHTTP2_ENHANCE_YOUR_CALM, 0, 'too_many_pings']]);
    expect(s.closed).toBe(true);
  });

  test('pings at the minimum interval are never struck', () => {
    for (let i = 0; i < 20; i++) ping(1000);
    expect(s.goaways).toEqual([]);
  });

  test('a pause at least the minimum clears the strikes', () => {
    for (let i = 0; i < 2; i++) ping(100);
    ping(1000);
    for (let i = 0; i < 2; i++) ping(100);
    expect(s.goaways).toEqual([]);
  });

  test('frequent pings while the node sends responses are not struck (grpc: "without data")', () => {
    for (let i = 0; i < 20; i++) ping(100, 2000);
    expect(s.goaways).toEqual([]);
  });

  test('a port without a registered interval is not policed', () => {
    s = new FakeSession();
    s.socket.localPort = 2;
    policePings(s as unknown as Http2Session, () => t);
    for (let i = 0; i < 20; i++) ping(1);
    expect(s.goaways).toEqual([]);
  });
});
