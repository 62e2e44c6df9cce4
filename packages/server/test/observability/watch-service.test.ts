// Admin.WatchStatus over a real gRPC connection: a client that stops reading is dropped with
// RESOURCE_EXHAUSTED once it has been blocked for the hub's slowClientMs, and the hub stops
// producing for it; a client that reads keeps its stream.
import { credentials, Server, ServerCredentials, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { AdminClient, AdminService, Role, type AdminServer, type StatusResponse, type WatchStatusResponse } from '@raftkv/proto';
import { WatchHub } from '../../src/observability/watch-hub.js';
import { watchStatusHandler } from '../../src/observability/watch-service.js';

let server: Server;
let client: AdminClient;
let hub: WatchHub;
let commit = 1000;
const KEY = 'k'.repeat(64);

beforeAll(async () => {
  // A node whose commit index moves all the time and whose log tail is large: ~3 KB per update.
  const status = (): StatusResponse => ({
    id: 'n1',
    version: '0.3.0',
    schemaVersion: 3,
    peerProtocolVersion: 2,
    clusterVersion: '0.3.0',
    role: Role.ROLE_LEADER,
    term: 1,
    leaderId: 'n1',
    commitIndex: ++commit,
    appliedIndex: commit,
    lastLogIndex: commit,
    members: [],
  });
  hub = new WatchHub(
    'n1',
    {
      status,
      detail: () => ({ electionTimeoutMinMs: 150, electionTimeoutMaxMs: 300, heartbeatMs: 50, followers: [] }),
      logTail: (n) => Array.from({ length: n }, (_, i) => ({ index: commit - n + i + 1, term: 1, op: 'put', key: KEY })),
    },
    { slowClientMs: 500 },
  );
  const unimplemented = (_call: unknown, cb: (e: Partial<ServiceError>) => void) => cb({ code: GrpcStatus.UNIMPLEMENTED });
  const impl: AdminServer = {
    status: unimplemented,
    digest: unimplemented,
    transferLeadership: unimplemented,
    addMember: unimplemented,
    removeMember: unimplemented,
    listMembers: unimplemented,
    publishMemberAttributes: unimplemented,
    watchStatus: watchStatusHandler(hub),
  };
  server = new Server();
  server.addService(AdminService, impl);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  client = new AdminClient(`127.0.0.1:${port}`, credentials.createInsecure());
});

afterAll(() => {
  client.close();
  server.forceShutdown();
});

test('a watcher that stops reading is dropped; one that reads is not', async () => {
  const reader = client.watchStatus({ maxUpdatesPerSecond: 50, includeEvents: false, logTail: 32 });
  let readerGot = 0;
  reader.on('data', () => readerGot++);
  reader.on('error', () => undefined);

  const stalled = client.watchStatus({ maxUpdatesPerSecond: 50, includeEvents: false, logTail: 32 });
  let stalledGot = 0;
  let stalling = true;
  const ended = new Promise<ServiceError>((resolve) => stalled.on('error', (e: ServiceError) => resolve(e)));
  stalled.on('data', (_m: WatchStatusResponse) => {
    stalledGot++;
    if (stalling) stalled.pause(); // reads one message, then nothing more
  });
  const waitFor = async (n: number): Promise<void> => {
    const deadline = Date.now() + 20_000;
    while (hub.subscriberCount !== n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  };
  await waitFor(2);
  expect(hub.subscriberCount).toBe(2);
  // Then until the hub gives up on the stalled one (it stays while the transport takes writes).
  await waitFor(1);
  expect(hub.subscriberCount).toBe(1);
  stalling = false;
  stalled.resume(); // reads what was buffered, then the status that ends the call
  const err = await ended;
  expect(err.code).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
  expect(err.details).toMatch(/too slow/);
  expect(stalledGot).toBeGreaterThanOrEqual(1);
  // The reading watcher kept getting updates meanwhile.
  const before = readerGot;
  await new Promise((r) => setTimeout(r, 300));
  expect(readerGot).toBeGreaterThan(before);
  reader.cancel();
}, 30_000);
