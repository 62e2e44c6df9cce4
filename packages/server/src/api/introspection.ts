// grpc.health.v1.Health and server reflection (v1 and v1alpha) on the node's port. Reflection is
// given every served service's proto, health's and etcd's included, so `grpcurl list/describe` (or
// `buf curl`) resolve all of them.
import type { Server } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { protoRoot } from '@raftkv/proto';
import { HealthImplementation } from 'grpc-health-check';
import { isType, withDependencies } from './reflection-files.js';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Health service names we report: the whole server (liveness) and the KV API (readiness). */
export const HEALTH_SERVICES = ['', 'raftkv.v1.KV'] as const;

/**
 * "" answers whether the process is up and serving at all: SERVING from start until shutdown, never
 * tied to leadership, so a liveness probe does not restart a node for something a restart cannot fix
 * (a partition, a lost quorum). "raftkv.v1.KV" is readiness: SERVING only while the node knows a
 * leader and has applied what it knows to be committed.
 */
export class Health {
  private readonly impl = new HealthImplementation({ '': 'SERVING', 'raftkv.v1.KV': 'NOT_SERVING' });
  private ready = false;

  addToServer(server: Server): void {
    this.impl.addToServer(server);
  }

  /** Readiness of the KV API. */
  set(ready: boolean): void {
    if (ready === this.ready) return;
    this.ready = ready;
    this.impl.setStatus('raftkv.v1.KV', ready ? 'SERVING' : 'NOT_SERVING');
  }

  /** Shutting down: nothing is served any more. */
  stopping(): void {
    this.set(false);
    this.impl.setStatus('', 'NOT_SERVING');
  }
}

/** etcd's rpc.proto declares Watch, Lease, Cluster, Maintenance and Auth too; reflection lists only what is served. */
const ETCD_SERVED = new Set(['etcdserverpb.KV', 'etcdserverpb.Watch']);

export function addReflection(server: Server): void {
  // Our own copy of health.proto (see the comment in it for why not grpc-health-check's).
  const ownProtos = fileURLToPath(new URL('../../proto', import.meta.url));
  // The reflection service describes itself too (@grpc/reflection ships its protos).
  const reflectionProtos = join(dirname(createRequire(import.meta.url).resolve('@grpc/reflection')), '..', 'proto');
  const def = loadSync(
    [
      'raftkv/v1/kv.proto',
      'raftkv/v1/admin.proto',
      'raftkv/v1/raft.proto',
      'etcd/etcdserver/etcdserverpb/rpc.proto',
      'grpc/health/v1/health.proto',
      'grpc/reflection/v1/reflection.proto',
      'grpc/reflection/v1alpha/reflection.proto',
    ],
    { includeDirs: [protoRoot, ownProtos, reflectionProtos], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true },
  );
  const services = Object.entries(def).flatMap(([name, value]) =>
    isType(value) || (name.startsWith('etcdserverpb.') && !ETCD_SERVED.has(name)) ? [] : [name],
  );
  new ReflectionService(withDependencies(def), { services }).addToServer(server);
}
