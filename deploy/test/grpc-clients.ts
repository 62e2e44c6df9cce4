// One node's raftkv client (@raftkv/client, a single attempt per call: these tests ask one node and
// judge its own answer) and grpc.health.v1 probes as a kubelet sends them.
import { credentials, makeGenericClientConstructor, type ChannelCredentials, type Client, type ServiceError } from '@grpc/grpc-js';
import { RaftkvClient } from '@raftkv/client';
import {
  ReadConsistency,
  type AddMemberResponse,
  type ProposeResponse,
  type ReadResponse,
  type RemoveMemberResponse,
  type StatusResponse,
} from '@raftkv/proto';
import { service as healthService } from 'grpc-health-check';

const HealthClient = makeGenericClientConstructor(healthService, 'grpc.health.v1.Health');
type HealthCheck = (
  req: { service: string },
  opts: { deadline: number },
  cb: (err: ServiceError | null, res?: { status: string | number }) => void,
) => void;

// A restarted node is redialled within 100 ms-1 s, not after grpc-js's default backoff of up to 2 min.
const CHANNEL_OPTIONS = { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 1_000 };

export class NodeClient {
  private readonly client: RaftkvClient;

  /** `creds` for the KV/Admin calls (TLS for a TLS cluster); probes always go plaintext to `probeAddress`. */
  constructor(
    readonly address: string,
    creds: ChannelCredentials = credentials.createInsecure(),
    readonly probeAddress: string = address,
  ) {
    this.client = new RaftkvClient({ endpoints: [address], credentials: creds, channelOptions: CHANNEL_OPTIONS });
  }

  put(key: string, value: Buffer, clientId: string, sequence: number, ms: number): Promise<ProposeResponse> {
    return this.client.put(key, value, { session: { clientId, sequence }, timeoutMs: ms, retries: false });
  }

  read(key: string, consistency: ReadConsistency, ms: number): Promise<ReadResponse> {
    const stale = consistency === ReadConsistency.READ_CONSISTENCY_STALE;
    return this.client.read(key, { stale, timeoutMs: ms, retries: false });
  }

  status(ms: number): Promise<StatusResponse> {
    return this.client.statusOf(this.address, { timeoutMs: ms });
  }

  /** Admin.AddMember (a follower forwards it to the leader): as a learner, promoted once caught up. */
  addMember(id: string, address: string, ms: number): Promise<AddMemberResponse> {
    return this.client.addMember(id, address, false, { timeoutMs: ms, retries: false });
  }

  removeMember(id: string, ms: number): Promise<RemoveMemberResponse> {
    return this.client.removeMember(id, { timeoutMs: ms, retries: false });
  }

  /**
   * The status a kubelet gRPC probe would see, or 'UNREACHABLE' (the probe then fails too). Like the
   * kubelet, each check dials a new connection.
   */
  async check(service: string, ms = 1_000): Promise<string> {
    const health: Client = new HealthClient(this.probeAddress, credentials.createInsecure());
    const check = (health as unknown as { check: HealthCheck }).check.bind(health);
    try {
      const res = await new Promise<{ status: string | number } | undefined>((resolve, reject) =>
        check({ service }, { deadline: Date.now() + ms }, (err, r) => (err ? reject(err) : resolve(r))),
      );
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
    this.client.close();
  }
}

export { ReadConsistency };
