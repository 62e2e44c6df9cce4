// grpc.health.v1.Health and server reflection (v1 and v1alpha) on the node's port. Reflection is
// given every service's proto, health's included, so `grpcurl list/describe` (or `buf curl`) resolve
// all of them.
import type { Server } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { protoRoot } from '@raftkv/proto';
import { HealthImplementation } from 'grpc-health-check';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Health service names we report: the whole server and the KV API. */
export const HEALTH_SERVICES = ['', 'raftkv.v1.KV'] as const;

export class Health {
  private readonly impl = new HealthImplementation(Object.fromEntries(HEALTH_SERVICES.map((s) => [s, 'NOT_SERVING'])));
  private serving = false;

  addToServer(server: Server): void {
    this.impl.addToServer(server);
  }

  set(serving: boolean): void {
    if (serving === this.serving) return;
    this.serving = serving;
    for (const s of HEALTH_SERVICES) this.impl.setStatus(s, serving ? 'SERVING' : 'NOT_SERVING');
  }
}

export function addReflection(server: Server): void {
  // Our own copy of health.proto (see the comment in it for why not grpc-health-check's).
  const ownProtos = fileURLToPath(new URL('../proto/', import.meta.url));
  // The reflection service describes itself too (@grpc/reflection ships its protos).
  const reflectionProtos = join(dirname(createRequire(import.meta.url).resolve('@grpc/reflection')), '..', 'proto');
  const def = loadSync(
    [
      'raftkv/v1/kv.proto',
      'raftkv/v1/admin.proto',
      'raftkv/v1/raft.proto',
      'grpc/health/v1/health.proto',
      'grpc/reflection/v1/reflection.proto',
      'grpc/reflection/v1alpha/reflection.proto',
    ],
    { includeDirs: [protoRoot, ownProtos, reflectionProtos], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true },
  );
  new ReflectionService(def).addToServer(server);
}
