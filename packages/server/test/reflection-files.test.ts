import { loadSync } from '@grpc/proto-loader';
import { protoRoot } from '@raftkv/proto';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import { isType, withDependencies } from '../src/api/reflection-files.js';

interface File {
  name: string;
  dependency: string[];
  messageType: unknown[];
}

const load = (files: string[]) => loadSync(files, { includeDirs: [protoRoot], keepCase: true });

/** Every file a package definition carries, by name, as reflection would serve it. */
function files(def: ReturnType<typeof load>): Map<string, File> {
  const out = new Map<string, File>();
  for (const value of Object.values(def)) {
    if (!isType(value)) continue;
    for (const b of value.fileDescriptorProtos) {
      const f = descriptor.FileDescriptorProto.decode(b) as unknown as File;
      out.set(f.name, f);
    }
  }
  return out;
}

test("proto-loader leaves dependency lists empty; withDependencies names each file's imports by package", () => {
  const def = load(['etcd/etcdserver/etcdserverpb/rpc.proto', 'raftkv/v1/kv.proto']);
  expect([...files(def).values()].map((f) => f.dependency)).toEqual([[], [], [], []]);
  const fixed = files(withDependencies(def));
  expect(Object.fromEntries([...fixed].map(([name, f]) => [name, f.dependency]))).toEqual({
    'etcdserverpb.proto': ['authpb.proto', 'mvccpb.proto'],
    'mvccpb.proto': [],
    'authpb.proto': [],
    'raftkv_v1.proto': [],
  });
  // Nothing else changes.
  const before = files(def);
  for (const [name, f] of fixed) expect(f.messageType).toEqual(before.get(name)?.messageType);
});
