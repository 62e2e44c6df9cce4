// "Clients from any language": Python (Debian's python3-grpcio) calls Propose and Read with stubs
// generated from our .proto files at test time. The Debian packages are installed with apt-get when
// missing (CI runs as root); without apt the test is skipped, saying why.
import { tempDir } from '@raftkv/testkit';
import { protoRoot } from '@raftkv/proto';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestCluster } from './harness.js';

const PY = '/usr/bin/python3';
const PLUGIN = '/usr/bin/grpc_python_plugin';
const PACKAGES = ['python3-grpcio', 'python3-protobuf', 'protobuf-compiler', 'protobuf-compiler-grpc'];

function ready(): boolean {
  return (
    existsSync(PY) &&
    existsSync(PLUGIN) &&
    spawnSync('protoc', ['--version']).status === 0 &&
    spawnSync(PY, ['-c', 'import grpc, google.protobuf']).status === 0
  );
}

/** Returns why Python cannot be used, or null when it can (installing it first if possible). */
function provision(): string | null {
  if (ready()) return null;
  if (process.getuid?.() !== 0 || spawnSync('apt-get', ['--version']).status !== 0) {
    return `needs ${PACKAGES.join(' ')} (apt-get unavailable or not root)`;
  }
  const apt = (args: string[]) =>
    spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=300', ...args], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      timeout: 600_000,
    });
  apt(['update']);
  const r = apt(['install', '-y', '--no-install-recommends', ...PACKAGES]);
  if (r.status !== 0) return `apt-get install ${PACKAGES.join(' ')} failed (exit ${r.status})`;
  return ready() ? null : 'installed, but python3-grpcio/protoc still unusable';
}

const why = provision();
if (why) console.warn(`SKIPPED python client test: ${why}`);
const maybe = why ? test.skip : test;

const CLIENT = `
import json, sys
import grpc
sys.path.insert(0, sys.argv[1])
from raftkv.v1 import kv_pb2, kv_pb2_grpc, admin_pb2, admin_pb2_grpc

ch = grpc.insecure_channel(sys.argv[2])
kv = kv_pb2_grpc.KVStub(ch)
out = {}
r = kv.Propose(kv_pb2.ProposeRequest(put=kv_pb2.PutCommand(key="py/greeting", value=b"hello from python"), client_id="py", sequence=1), timeout=10)
out["put"] = {"succeeded": r.succeeded, "index": r.index, "leader_id": r.leader_id}
again = kv.Propose(kv_pb2.ProposeRequest(put=kv_pb2.PutCommand(key="py/greeting", value=b"hello from python"), client_id="py", sequence=1), timeout=10)
out["retry_index"] = again.index
r = kv.Read(kv_pb2.ReadRequest(key="py/greeting"), timeout=10)
out["read"] = {"found": r.found, "value": r.value.decode(), "index": r.index}
import time
deadline = time.time() + 10
while True:  # a stale read is local: wait for the follower to apply the write
    r = kv.Read(kv_pb2.ReadRequest(key="py/greeting", consistency=kv_pb2.READ_CONSISTENCY_STALE), timeout=10)
    if r.found or time.time() > deadline:
        break
    time.sleep(0.05)
out["stale_found"] = r.found
r = kv.Propose(kv_pb2.ProposeRequest(compare_and_swap=kv_pb2.CompareAndSwapCommand(key="py/greeting", expected_value=b"nope", new_value=b"x")), timeout=10)
out["cas"] = {"succeeded": r.succeeded, "previous_value": r.previous_value.decode()}
try:
    kv.Propose(kv_pb2.ProposeRequest(put=kv_pb2.PutCommand(key="", value=b"x")), timeout=10)
except grpc.RpcError as e:
    out["invalid"] = {"code": e.code().name, "details": e.details()}
s = admin_pb2_grpc.AdminStub(ch).Status(admin_pb2.StatusRequest(), timeout=10)
out["status"] = {"id": s.id, "members": len(s.members)}
print(json.dumps(out))
`;

describe('a Python gRPC client', () => {
  let c: TestCluster;
  beforeAll(async () => {
    if (why) return;
    c = await TestCluster.start();
    await c.waitForLeader();
  });
  afterAll(async () => {
    await c?.stop();
  });

  maybe('proposes and reads through a follower with stubs generated from the .proto files', async () => {
    const dir = tempDir('raftkv-py-');
    const gen = spawnSync(
      'protoc',
      [
        `-I${protoRoot}`,
        `--python_out=${dir}`,
        `--grpc_python_out=${dir}`,
        `--plugin=protoc-gen-grpc_python=${PLUGIN}`,
        'raftkv/v1/kv.proto',
        'raftkv/v1/admin.proto',
        'raftkv/v1/cluster.proto', // admin.proto imports it
      ],
      { encoding: 'utf8' },
    );
    expect(gen.stderr).toBe('');
    expect(gen.status).toBe(0);
    const script = join(dir, 'client.py');
    writeFileSync(script, CLIENT);
    const { leader } = await c.waitForLeader();
    const follower = c.nodes.find((n) => n.id !== leader)!;
    const r = spawnSync(PY, [script, dir, follower.address], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as Record<string, Record<string, unknown> | number | boolean>;
    expect(out['put']).toMatchObject({ succeeded: true, leader_id: leader });
    expect(out['retry_index']).toBe((out['put'] as { index: number }).index);
    expect(out['read']).toMatchObject({ found: true, value: 'hello from python' });
    expect(out['stale_found']).toBe(true);
    expect(out['cas']).toEqual({ succeeded: false, previous_value: 'hello from python' });
    expect(out['invalid']).toEqual({ code: 'INVALID_ARGUMENT', details: 'key must not be empty' });
    expect(out['status']).toEqual({ id: follower.id, members: 3 });
  });
});
