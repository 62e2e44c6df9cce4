// The endpoints a client talks to: one channel per endpoint shared by every service, the order to try
// them in (the last one that answered first), and which member id each endpoint is (learned from
// Admin.Status), so a `raftkv-leader` hint can be followed.
import { Channel, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';
import { AdminClient, etcdserverpb, KVClient, type StatusResponse } from '@raftkv/proto';
import { EtcdKVStub } from './etcd-service.js';
import { EtcdWatchStub } from './etcd-watch.js';
import { unary } from './unary.js';

export interface Stubs {
  readonly address: string;
  readonly kv: KVClient;
  readonly admin: AdminClient;
  readonly etcd: EtcdKVStub;
  /** etcd's Lease service (generated client: header ids above 2^53, as etcd's own, do not decode). */
  readonly lease: etcdserverpb.LeaseClient;
  readonly watch: EtcdWatchStub;
  /** etcd's Maintenance (raftkv's member ids fit the generated decoder's 53 bits). */
  readonly maintenance: etcdserverpb.MaintenanceClient;
}

interface Entry extends Stubs {
  readonly channel: Channel;
}

export class Endpoints {
  private readonly entries = new Map<string, Entry>();
  /** Member id by endpoint, as the endpoint itself reported it. */
  private readonly ids = new Map<string, string>();
  private preferred = '';

  constructor(
    readonly addresses: readonly string[],
    private readonly creds: ChannelCredentials,
    private readonly options: ChannelOptions,
  ) {
    if (addresses.length === 0) throw new RangeError('at least one endpoint is needed');
  }

  /** Every endpoint, the last one that answered first, then the others in the order given. */
  order(): string[] {
    const p = this.preferred;
    return p === '' ? [...this.addresses] : [p, ...this.addresses.filter((a) => a !== p)];
  }

  prefer(address: string): void {
    this.preferred = address;
  }

  stubs(address: string): Stubs {
    let e = this.entries.get(address);
    if (e === undefined) {
      const channel = new Channel(address, this.creds, this.options);
      const on = { ...this.options, channelOverride: channel };
      e = {
        address,
        channel,
        kv: new KVClient(address, this.creds, on),
        admin: new AdminClient(address, this.creds, on),
        etcd: new EtcdKVStub(address, this.creds, on),
        lease: new etcdserverpb.LeaseClient(address, this.creds, on),
        watch: new EtcdWatchStub(address, this.creds, on),
        maintenance: new etcdserverpb.MaintenanceClient(address, this.creds, on),
      };
      this.entries.set(address, e);
    }
    return e;
  }

  /** Records which member an endpoint is. */
  learn(address: string, s: StatusResponse): void {
    if (s.id !== '') this.ids.set(address, s.id);
  }

  /** The endpoint of member `id`, asking the endpoints whose id is unknown (by `deadline`); undefined if none is. */
  async addressOf(id: string, deadline: number): Promise<string | undefined> {
    const known = (): string | undefined => [...this.ids].find(([, v]) => v === id)?.[0];
    if (known() !== undefined) return known();
    const unknown = this.addresses.filter((a) => !this.ids.has(a));
    await Promise.all(
      unknown.map(async (a) => {
        const s = this.stubs(a).admin;
        try {
          this.learn(a, await unary((r, md, o, cb) => s.status(r, md, o, cb), {}, Math.min(deadline, Date.now() + 1000)));
        } catch {
          // Unreachable now: it is asked again next time.
        }
      }),
    );
    return known();
  }

  close(): void {
    for (const e of this.entries.values()) e.channel.close();
    this.entries.clear();
  }
}
