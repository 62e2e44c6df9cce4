// Promise wrappers over the generated raftkv clients and grpc.health.v1, one channel per node address.
import {
  Metadata,
  credentials,
  makeGenericClientConstructor,
  type ChannelCredentials,
  type Client,
  type ServiceError,
} from '@grpc/grpc-js';
import {
  AdminClient,
  KVClient,
  ReadConsistency,
  type AddMemberResponse,
  type ProposeResponse,
  type RemoveMemberResponse,
  type ReadResponse,
  type StatusResponse,
} from '@raftkv/proto';
import { service as healthService } from 'grpc-health-check';

const HealthClient = makeGenericClientConstructor(healthService, 'grpc.health.v1.Health');
type HealthCheck = (
  req: { service: string },
  opts: { deadline: number },
  cb: (err: ServiceError | null, res?: { status: string | number }) => void,
) => void;

function deadline(ms: number): { deadline: number } {
  return { deadline: Date.now() + ms };
}

function unary<T>(call: (cb: (err: ServiceError | null, res: T) => void) => unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    call((err, res) => (err ? reject(err) : resolve(res)));
  });
}

// A restarted node is redialled within 100 ms-1 s, not after grpc-js's default backoff of up to 2 min.
const CHANNEL_OPTIONS = { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 1_000 };

export class NodeClient {
  readonly kv: InstanceType<typeof KVClient>;
  readonly admin: InstanceType<typeof AdminClient>;

  /** `creds` for the KV/Admin calls (TLS for a TLS cluster); probes always go plaintext to `probeAddress`. */
  constructor(
    readonly address: string,
    creds: ChannelCredentials = credentials.createInsecure(),
    readonly probeAddress: string = address,
  ) {
    this.kv = new KVClient(address, creds, CHANNEL_OPTIONS);
    this.admin = new AdminClient(address, creds, CHANNEL_OPTIONS);
  }

  put(key: string, value: Buffer, clientId: string, sequence: number, ms: number): Promise<ProposeResponse> {
    return unary((cb) =>
      this.kv.propose({ command: { $case: 'put', put: { key, value } }, clientId, sequence }, new Metadata(), deadline(ms), cb),
    );
  }

  read(key: string, consistency: ReadConsistency, ms: number): Promise<ReadResponse> {
    return unary((cb) => this.kv.read({ key, consistency }, new Metadata(), deadline(ms), cb));
  }

  status(ms: number): Promise<StatusResponse> {
    return unary((cb) => this.admin.status({}, new Metadata(), deadline(ms), cb));
  }

  /** Admin.AddMember (a follower forwards it to the leader): as a learner, promoted once caught up. */
  addMember(id: string, address: string, ms: number): Promise<AddMemberResponse> {
    return unary((cb) => this.admin.addMember({ id, address, learner: false }, new Metadata(), deadline(ms), cb));
  }

  removeMember(id: string, ms: number): Promise<RemoveMemberResponse> {
    return unary((cb) => this.admin.removeMember({ id }, new Metadata(), deadline(ms), cb));
  }

  /**
   * The status a kubelet gRPC probe would see, or 'UNREACHABLE' (the probe then fails too). Like the
   * kubelet, each check dials a new connection.
   */
  async check(service: string, ms = 1_000): Promise<string> {
    const health: Client = new HealthClient(this.probeAddress, credentials.createInsecure());
    const check = (health as unknown as { check: HealthCheck }).check.bind(health);
    try {
      const res = await unary<{ status: string | number } | undefined>((cb) => check({ service }, deadline(ms), cb));
      const s = res?.status;
      return typeof s === 'number' ? (['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'][s] ?? String(s)) : String(s);
    } catch (e) {
      const err = e as ServiceError;
      return err.code === 5 ? 'SERVICE_UNKNOWN' : 'UNREACHABLE';
    } finally {
      health.close();
    }
  }

  close(): void {
    this.kv.close();
    this.admin.close();
  }
}

export { ReadConsistency };
