// Assembles one raftkv node: database, log storage, state machine, Raft core, driver, peer transport
// and the gRPC servers (grpc/node-servers.ts).
import { Metadata, type Server } from '@grpc/grpc-js';
import { RaftNode, type RaftOptions } from '@raftkv/consensus';
import { AdminService, etcdserverpb, KVService, RaftService } from '@raftkv/proto';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { adminService, statusOf } from './api/admin-service.js';
import type { ServerConfig } from './cli/config.js';
import { leaveCheckpointsToCheckpointer, openDatabase, type Db } from './storage/db.js';
import { DEFAULT_PROPOSAL_LIMITS, RaftDriver } from './node/driver.js';
import { dialAddress, peerChannelOptions } from './grpc/grpc-options.js';
import { NodeServers } from './grpc/node-servers.js';
import { startNodeHttp, type NodeHttp } from './http/node-http.js';
import { Health } from './api/introspection.js';
import { kvService } from './api/kv-service.js';
import { etcdKvService } from './api/etcd-kv-service.js';
import { etcdWatchService } from './api/etcd-watch-service.js';
import { WATCH_SERVICE } from './watch/wire.js';
import { WatchHub as EtcdWatchHub } from './watch/hub.js';
import { etcdLeaseService, minLeaseTtl } from './api/etcd-lease-service.js';
import { LeaseRenewForwarder } from './api/lease-renew-forwarder.js';
import { LeaseExpiry } from './node/lease-expiry.js';
import { Lessor } from './node/lessor.js';
import { activeAlarms, etcdAlarm } from './api/etcd-alarm.js';
import { QuotaAlarmer } from './api/quota-alarmer.js';
import { BackendQuota } from './storage/quota.js';
import { DigestRunner } from './storage/digest-runner.js';
import { AutoCompactor } from './node/auto-compaction.js';
import { encodeCommand } from './storage/command.js';
import { ROOT } from './storage/auth/auth-store.js';
import { headerIds } from './storage/member-id.js';
import { createLogger, type LogContext, type Logger } from './observability/logger.js';
import { SqliteLogStorage } from './storage/log-storage.js';
import { NodeObservability } from './observability/node-observability.js';
import { watchStatusHandler } from './observability/watch-service.js';
import { UnavailableError } from './errors.js';
import { installServerConnectionHooks } from './grpc/no-delay.js';
import { useChannelCredentials } from './grpc/tls.js';
import { bindPorts, describePorts } from './listeners.js';
import { LeaderRouter, TOKEN_HEADER } from './api/router.js';
import { DEFAULT_SESSION_POLICY, KvStateMachine } from './storage/state-machine.js';
import { ReadyStore } from './storage/ready-store.js';
import { Checkpointer, WalSync } from './storage/wal-sync.js';
import { PeerTransport } from './peer/transport.js';
import { joinCluster } from './node/join.js';
import { Membership } from './storage/membership.js';
import { MembershipAdmin, membershipService, recordMemberAttributes } from './api/membership-service.js';
import { SnapshotStore } from './storage/snapshot-store.js';
import { checkClusterId } from './storage/cluster-identity.js';
import { forceNewCluster } from './storage/force-new-cluster.js';
import { SnapshotReceiver, SnapshotSender } from './peer/snapshot-transfer.js';
import { peerCallAuth } from './peer/peer-secret.js';
import { EtcdMembership, etcdClusterService } from './api/etcd-cluster-service.js';
import { etcdMaintenanceService } from './api/etcd-maintenance-service.js';
import { publishAttributes } from './node/publish-attributes.js';
import { AuthGate, type Caller } from './api/auth-gate.js';
import { authService } from './api/auth-service.js';
import { maintenanceAuthStatus, rootOnly, rootOnlyStreams } from './api/root-only.js';
import { ClusterVersion } from './node/cluster-version.js';

export class RaftkvServer {
  readonly logger: Logger;
  private readonly ctx: LogContext;
  private readonly db: Db;
  private readonly log: SqliteLogStorage;
  private readonly sm: KvStateMachine;
  private readonly wal: WalSync;
  private readonly checkpointer: Checkpointer;
  private readonly node: RaftNode;
  readonly driver: RaftDriver;
  private readonly transport: PeerTransport;
  private readonly router: LeaderRouter;
  /** The leader's lease expiries (node/lessor.ts), kept in step with the applied leases by the state machine. */
  private readonly lessor: Lessor;
  private readonly leaseExpiry: LeaseExpiry;
  private readonly leaseForwarder: LeaseRenewForwarder;
  /** etcd's auth: who calls (api/auth-gate.ts). */
  private readonly gate: AuthGate;
  /** Who the members are and where (members table); snapshots, their transfer, membership changes. */
  readonly membership: Membership;
  readonly snapshots: SnapshotStore;
  private readonly snapshotSender: SnapshotSender;
  private readonly compactor: AutoCompactor;
  /** etcd watchers on this node, told of its applied writes (watch/). */
  private readonly watchHub: EtcdWatchHub;
  /** The cluster version: decided by the leader, gates new command kinds (node/cluster-version.ts). */
  readonly clusterVersion: ClusterVersion;
  /** Admin.Digest, computed off the event loop. */
  private readonly digests: DigestRunner;
  private readonly joining: boolean;
  private readonly health = new Health();
  private readonly grpc: NodeServers;
  /** Metrics and the WatchStatus hub (observability/). */
  readonly obs: NodeObservability;
  private http: NodeHttp | null = null;
  private closing: Promise<void> | null = null;
  private stopPublishing: (() => void) | null = null;

  /** `onFatal` is told when the node had to stop (disk failure): the process should exit non-zero. */
  private healthServer: Server | null = null;
  private stopTlsReload: () => void = () => {};

  constructor(
    readonly config: ServerConfig,
    private readonly onFatal: (err: Error) => void,
  ) {
    useChannelCredentials(config); // before any channel to a peer is made
    this.ctx = { node: config.id, term: 0, role: 'follower' };
    this.logger = createLogger(this.ctx, config.logLevel);
    this.db = openDatabase(config.dataDir);
    this.log = new SqliteLogStorage(this.db);
    checkClusterId(this.db, config.clusterId);
    if (config.forceNewCluster)
      forceNewCluster({ db: this.db, log: this.log, self: config.id, address: config.advertise, logger: this.logger });
    this.membership = new Membership(this.db, config.id, config.advertise, this.logger);
    // Conf-change entries are applied by the membership; their new configurations go to the core.
    this.lessor = new Lessor({ now: () => performance.now(), extendMs: config.electionTimeoutMaxMs });
    this.sm = new KvStateMachine(this.db, DEFAULT_SESSION_POLICY, this.membership, this.lessor);
    this.watchHub = new EtcdWatchHub(this.sm.store);
    // The membership persisted by conf-change entries and snapshots wins; --peers only bootstraps a
    // new cluster. A joining node knows no membership until the log or a snapshot brings it.
    this.joining = config.join !== null && !this.membership.known;
    if (config.join !== null && !this.joining)
      this.logger.info('--join ignored: this node already knows its cluster', { members: this.membership.members().map((m) => m.id) });
    if (!this.membership.known && config.join === null) this.membership.bootstrap(config.peers);
    this.log.setConfState(this.membership.confState());
    this.snapshots = new SnapshotStore({
      db: this.db,
      dataDir: config.dataDir,
      log: this.log,
      logger: this.logger,
      policy: { entries: config.snapshotEntries, bytes: config.snapshotBytes, catchupEntries: config.snapshotCatchupEntries },
      appliedIndex: () => this.sm.appliedIndex(),
    });
    // Ready transactions commit without SQLite's fsync; WalSync fsyncs the WAL off the event loop
    // and the Checkpointer copies it into the database file at synchronous=FULL (wal-sync.ts).
    leaveCheckpointsToCheckpointer(this.db);
    this.wal = new WalSync(this.db.name);
    this.checkpointer = new Checkpointer({
      dbPath: this.db.name,
      onError: (error) => this.logger.error('WAL checkpoint failed', { error }),
    });
    // `applied` lets the core resume handing out committed entries after the state machine's index.
    const options = {
      id: config.id,
      peers: this.joining ? [] : [...config.peers.keys()],
      electionTimeoutMinMs: config.electionTimeoutMinMs,
      electionTimeoutMaxMs: config.electionTimeoutMaxMs,
      heartbeatIntervalMs: config.heartbeatMs,
      random: Math.random,
      nowMs: performance.now(),
      applied: this.sm.appliedIndex(),
    };
    this.node = new RaftNode(options as RaftOptions, this.log);
    const log = this.log;
    this.obs = new NodeObservability(
      {
        id: config.id,
        status: () => this.status(),
        coreStatus: () => this.node.status(),
        appliedIndex: () => this.sm.appliedIndex(),
        alarms: () => [...new Set(this.sm.alarms.get(etcdserverpb.AlarmType.NONE).map((a) => etcdserverpb.alarmTypeToJSON(a.alarm)))],
        lastIndex: () => log.lastIndex(),
        firstIndex: () => log.firstIndex(),
        entries: (lo, hi) => log.entries(lo, hi, 1 << 20),
        electionTimeoutMinMs: config.electionTimeoutMinMs,
        electionTimeoutMaxMs: config.electionTimeoutMaxMs,
        heartbeatMs: config.heartbeatMs,
      },
      { metrics: config.metricsListen !== null },
    );
    const peerAuth = peerCallAuth(config.peerSecret, config.clusterId, config.id);
    this.transport = new PeerTransport({
      self: config.id,
      clusterId: config.clusterId,
      peers: this.membership.addresses,
      dialOverrides: config.dialOverrides,
      logger: this.logger,
      deliver: (m) => {
        this.obs.messageReceived(m);
        this.driver.step(m);
      },
      peerLost: (id) => this.driver.peerLost(id),
      auth: peerAuth,
      channelOptions: peerChannelOptions(config.maxRequestBytes),
    });
    this.driver = new RaftDriver({
      id: config.id,
      node: this.node,
      storage: new ReadyStore({
        db: this.db,
        wal: this.wal,
        log: this.log,
        sm: this.sm,
        installSnapshot: async (meta) => {
          await this.snapshots.install(meta);
          // The tables changed under these caches (on the install worker's connection): read them again.
          this.sm.reload();
          this.membership.reload();
          this.watchHub.resync();
        },
        onChanges: (rows) => this.watchHub.notify(rows),
      }),
      logger: this.logger,
      logContext: this.ctx,
      send: (msgs) => this.transport.send(this.snapshotSender.intercept(msgs)),
      onFatal: (e) => this.onFatal(e),
      observer: this.obs,
      admit: (data) => this.clusterVersion.admit(data),
      limits: { ...DEFAULT_PROPOSAL_LIMITS, maxPendingBytes: config.maxPendingBytes },
    });
    this.clusterVersion = new ClusterVersion({
      self: config.id,
      applied: () => this.sm.clusterVersion.get(),
      members: () => this.membership.members().map((m) => m.id),
      releaseOf: (id) => this.transport.releaseOf(id),
      isLeader: () => this.driver.isLeader,
      propose: (data) => this.driver.propose(data),
      logger: this.logger,
    });
    this.membership.onChange((m) => this.transport.setPeers(m.addresses));
    this.snapshotSender = new SnapshotSender({
      clusterId: config.clusterId,
      store: this.snapshots,
      addressOf: (id) => this.membership.addresses.get(id),
      dialOverrides: config.dialOverrides,
      logger: this.logger,
      chunkDelayMs: config.snapshotChunkDelayMs,
      auth: peerAuth,
      channelOptions: peerChannelOptions(config.maxRequestBytes),
      onSent: (_to, bytes) => this.obs.snapshotSent(bytes),
      report: (to, ok) => {
        try {
          this.driver.withCore((n) => n.reportSnapshot(to, ok));
        } catch {
          // shutting down
        }
      },
    });
    const snapshotReceiver = new SnapshotReceiver({
      self: config.id,
      clusterId: config.clusterId,
      store: this.snapshots,
      knows: this.transport.knows,
      logger: this.logger,
      deliver: (m) => {
        this.obs.messageReceived(m);
        this.driver.step(m);
      },
      term: () => this.driver.view().term,
    });
    this.router = new LeaderRouter({
      self: config.id,
      peers: this.membership.addresses,
      dialOverrides: config.dialOverrides,
      driver: this.driver,
      // A removed node, or one still joining, answers at once: clients move on to a member.
      refuse: () =>
        this.membership.removed
          ? new UnavailableError('this node was removed from the cluster', '', true)
          : this.membership.known
            ? null
            : new UnavailableError('this node is still joining the cluster', '', true),
    });
    this.membership.onChange((m) => this.router.retain(m.addresses.values()));
    // etcd's auth: who calls (token or client certificate), on every client-facing service.
    const gate = new AuthGate({
      store: this.sm.auth,
      clientCertAuth: config.tls?.clientAuth ?? false,
      tokenTtlMs: config.authTokenTtlMs,
    });
    this.gate = gate;
    installServerConnectionHooks();
    this.grpc = new NodeServers(config);
    this.grpc.serveRaft(RaftService, { ...this.transport.service, installSnapshot: snapshotReceiver.handle });
    const ids = headerIds(config.clusterId, config.id);
    const quota = new QuotaAlarmer(new BackendQuota(this.db, config.quotaBackendBytes), this.driver, ids.memberId, this.logger);
    this.grpc.serve(KVService, kvService(this.driver, this.sm, this.router, this.obs, gate, quota));
    this.grpc.serve(
      etcdserverpb.KVService,
      etcdKvService({
        driver: this.driver,
        sm: this.sm,
        router: this.router,
        ids,
        maxRequestBytes: config.maxRequestBytes,
        maxRangeBytes: config.maxRangeBytes,
        gate,
        quota,
      }),
    );
    this.grpc.serve(
      WATCH_SERVICE,
      etcdWatchService({
        hub: this.watchHub,
        store: this.sm.store,
        ids,
        term: () => this.driver.view().term,
        maxRequestBytes: config.maxRequestBytes,
        progressIntervalMs: config.watchProgressNotifyMs,
        maxWatchers: config.maxWatchersPerStream,
        leaderId: () => this.driver.leaderId,
        electionMs: config.electionTimeoutMaxMs,
        gate,
      }),
    );
    this.leaseExpiry = new LeaseExpiry({
      lessor: this.lessor,
      isLeader: () => this.driver.isLeader,
      term: () => this.driver.view().term,
      waitForLeaderChange: (ms) => this.driver.waitForLeaderChange(ms),
      propose: (data) => this.driver.propose(data),
      logger: this.logger,
    });
    this.leaseForwarder = new LeaseRenewForwarder(this.router, () => this.driver.leaderId);
    this.grpc.serve(
      etcdserverpb.LeaseService,
      etcdLeaseService({
        driver: this.driver,
        sm: this.sm,
        router: this.router,
        lessor: this.lessor,
        forwarder: this.leaseForwarder,
        syncLessor: () => this.leaseExpiry.sync(),
        ids,
        minTtl: minLeaseTtl(config.electionTimeoutMaxMs),
        gate,
      }),
    );
    this.grpc.serve(etcdserverpb.AuthService, authService({ driver: this.driver, sm: this.sm, router: this.router, ids, gate }));
    this.digests = new DigestRunner(join(config.dataDir, 'raftkv.db'));
    this.compactor = new AutoCompactor(config.autoCompaction, {
      revision: () => this.sm.store.currentRevision(),
      compacted: () => this.sm.store.compactedRevision(),
      isLeader: () => this.driver.isLeader,
      // As root: with auth enabled the root user always exists with the root role (auth-store.ts).
      propose: async (revision) => {
        await this.driver.propose(encodeCommand({ $case: 'compaction', compaction: { revision, physical: false } }, ROOT));
      },
      onError: (revision, e) => this.logger.warn('auto-compaction failed; retried at its next step', { revision, error: e.message }),
    });
    const appliedIndex = (): number => this.sm.appliedIndex();
    const members = new MembershipAdmin({
      self: config.id,
      driver: this.driver,
      node: this.node,
      membership: this.membership,
      appliedIndex,
      logger: this.logger,
    });
    const membershipHandlers = membershipService({
      admin: members,
      driver: this.driver,
      router: this.router,
      appliedIndex,
      forwardToken: (call) => gate.forwardToken(call),
    });
    // Status and ListMembers stay open (leader discovery; etcd's Status and MemberList); changes need root.
    this.grpc.serve(
      AdminService,
      rootOnly(
        adminService(
          () => this.status(),
          this.sm,
          watchStatusHandler(this.obs.hub),
          this.driver,
          membershipHandlers,
          () => this.digests.digest(),
        ),
        gate,
        ['addMember', 'removeMember', 'transferLeadership', 'digest'],
      ),
    );
    const etcdMembersDeps = {
      clusterId: config.clusterId,
      ids,
      driver: this.driver,
      router: this.router,
      membership: this.membership,
      admin: members,
      replication: () => this.node.status(),
      peerScheme: config.peerTls === null ? ('http' as const) : ('https' as const),
      random: Math.random,
      forwardToken: (call: Caller) => gate.forwardToken(call),
    };
    // etcd's checkMembershipOperationPermission: every change needs root; MemberList stays open.
    this.grpc.serve(
      etcdserverpb.ClusterService,
      rootOnly(etcdClusterService(etcdMembersDeps, new EtcdMembership(etcdMembersDeps)), gate, [
        'memberAdd',
        'memberRemove',
        'memberUpdate',
        'memberPromote',
      ]),
    );
    const maintenance = etcdMaintenanceService({
      clusterId: config.clusterId,
      ids,
      db: this.db,
      driver: this.driver,
      sm: this.sm,
      membership: this.membership,
      snapshots: this.snapshots,
      logger: this.logger,
      alarm: etcdAlarm({ driver: this.driver, router: this.router }),
      alarms: activeAlarms(this.sm),
    });
    // etcd 3.4's authMaintenanceServer: Defragment, Snapshot, Hash and HashKV need root (refused with the
    // auth package's errors, as etcd); Status, MoveLeader and Alarm are not checked there.
    this.grpc.serve(
      etcdserverpb.MaintenanceService,
      rootOnlyStreams(
        rootOnly(maintenance, gate, ['defragment', 'hash', 'hashKv'], maintenanceAuthStatus),
        gate,
        ['snapshot'],
        maintenanceAuthStatus,
      ),
    );
    this.grpc.addIntrospection(this.health);
    this.watchHealth();
  }

  status() {
    const s = {
      ...statusOf(this.config.id, this.node, this.driver, this.membership.addresses, this.log.lastIndex()),
      clusterVersion: this.sm.clusterVersion.get(),
    };
    return this.membership.known ? { ...s, members: this.membership.members().map((m) => ({ ...m })) } : s;
  }

  /** Serving: a leader is known and everything this node knows to be committed is applied. */
  private watchHealth(): void {
    // Leader changes are reflected at once; index catch-up is sampled (a timer per Ready would cost
    // more than the check).
    const check = (): void => {
      if (this.closing) return;
      const v = this.driver.view();
      this.health.set(v.leaderId !== '' && v.applied >= v.commit && !this.membership.removed);
    };
    const onLeader = (): void => {
      check();
      if (!this.closing) void this.driver.waitForLeaderChange(Date.now() + 60_000).then(onLeader);
    };
    onLeader();
    setInterval(check, 100).unref();
  }

  /** Warns when the event loop stalls long enough to threaten elections (a starved or overloaded node). */
  private watchEventLoop(): void {
    // Coarse: only stalls of tens of ms matter here. The histogram records each whole interval between
    // samples (never less than the resolution, even when idle), so the resolution is taken off.
    const resolutionMs = 20;
    const h = monitorEventLoopDelay({ resolution: resolutionMs });
    h.enable();
    const lateMs = (ns: number): number => Math.max(0, Math.round(ns / 1e6 - resolutionMs));
    const limitMs = this.config.electionTimeoutMinMs / 2;
    const t = setInterval(() => {
      const maxMs = lateMs(h.max);
      if (maxMs > limitMs) this.logger.warn('event loop stalled', { maxDelayMs: maxMs, p99DelayMs: lateMs(h.percentile(99)) });
      h.reset();
    }, 1000);
    t.unref();
  }

  async start(): Promise<void> {
    const bound = await bindPorts(this.grpc, this.health, this.config, this.logger);
    const port = bound.port;
    this.healthServer = bound.healthServer;
    this.stopTlsReload = bound.stopTlsReload;
    this.driver.start();
    this.snapshots.start();
    this.compactor.start();
    this.leaseExpiry.start();
    this.clusterVersion.start();
    this.watchEventLoop();
    if (this.joining) {
      void joinCluster({
        self: this.config.id,
        advertise: this.config.advertise,
        endpoints: this.config.join!,
        membership: this.membership,
        dialOverrides: this.config.dialOverrides,
        logger: this.logger,
        stopped: () => this.closing !== null,
        onRefused: (e) => {
          this.logger.error(e.message);
          this.onFatal(e);
        },
      });
    }
    this.publishAttributes(port);
    await this.startHttp(port);
    this.logger.info('raftkv node started', {
      listen: this.config.listen,
      port,
      ...describePorts(this.config, bound),
      advertise: this.config.advertise,
      peers: Object.fromEntries(this.config.peers),
      dataDir: this.config.dataDir,
      appliedIndex: this.sm.appliedIndex(),
      snapshotIndex: this.log.snapshotMeta().index,
      firstLogIndex: this.log.firstIndex(),
      lastLogIndex: this.log.lastIndex(),
      members: this.membership.members().map((m) => `${m.id}=${m.address}${m.voter ? '' : ' (learner)'}`),
      joining: this.joining,
    });
  }

  /**
   * etcd's publish: this member's name (its id) and client URL go into the replicated membership once
   * it is a member. The client URL is the advertised address when clients and peers share the port.
   * It carries no scheme: etcdctl's `endpoint status|hashkv --cluster` dial each client URL with it as
   * the HTTP/2 :authority, and Node's HTTP/2 server (nghttp2) resets a stream whose :authority holds
   * "http://" (a '/'), where Go's server lets it pass; host:port works with every etcd client.
   */
  private publishAttributes(grpcPort: number): void {
    const c = this.config;
    const host = c.advertise.replace(/:\d+$/, '');
    const clientAddress = c.peerListen === null ? c.advertise : `${host}:${grpcPort}`;
    const attributes = { name: c.id, clientUrls: [clientAddress] };
    this.stopPublishing = publishAttributes({
      self: c.id,
      attributes,
      membership: this.membership,
      leaderKnown: () => this.driver.leaderId !== '',
      logger: this.logger,
      publish: async (a) => {
        const deadline = Date.now() + 10_000;
        const req = { id: c.id, name: a.name, clientUrls: [...a.clientUrls] };
        await this.router.publishMemberAttributes(req, deadline, false, () =>
          recordMemberAttributes(this.driver, req, () => this.sm.appliedIndex()),
        );
      },
    });
  }

  /** --http-listen (live view) and --metrics-listen (Prometheus). */
  private async startHttp(grpcPort: number): Promise<void> {
    const c = this.config;
    if (c.httpListen === null && c.metricsListen === null) return;
    // The live view reaches this node's own gRPC API on loopback when it listens on every interface.
    const host = c.listen.replace(/:\d+$/, '');
    const ownHost = host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host;
    this.http = await startNodeHttp({
      self: c.id,
      httpListen: c.httpListen,
      metricsListen: c.metricsListen,
      devControls: c.devControls,
      metrics: this.obs.metrics,
      peers: c.peers,
      dial: (a) => dialAddress(a, c.dialOverrides),
      grpcAddress: `${ownHost}:${grpcPort}`,
      transfer: (to, deadlineMs, token) => this.router.transferLeadership(to, deadlineMs, token),
      requireRoot: (token) => {
        const metadata = new Metadata();
        if (token !== null) metadata.set(TOKEN_HEADER, token);
        this.gate.requireRoot({ metadata });
      },
      httpToken: c.httpToken,
    });
    this.logger.info('http listening', { httpPort: this.http.httpPort, metricsPort: this.http.metricsPort });
  }

  /**
   * A leader that is asked to stop first hands leadership to the most caught-up voter (thesis §3.10),
   * so a rolling restart costs a round trip of unavailability instead of an election timeout.
   */
  private async handOverLeadership(): Promise<void> {
    if (!this.driver.isLeader) return;
    const deadline = Date.now() + 2 * this.config.electionTimeoutMaxMs;
    try {
      const r = await this.driver.transferLeadership('', deadline);
      this.logger.info('handed leadership over before stopping', { to: r.leaderId, newTerm: r.term });
    } catch (e) {
      this.logger.warn('could not hand leadership over before stopping', { error: (e as Error).message });
    }
  }

  /**
   * Clean shutdown: refuse new calls, give in-flight ones up to `graceMs` to finish, fail the rest,
   * close peer streams and the database.
   */
  close(graceMs = 2000): Promise<void> {
    this.closing ??= this.doClose(graceMs);
    return this.closing;
  }

  private async doClose(graceMs: number): Promise<void> {
    this.logger.info('shutting down');
    this.health.stopping();
    await this.handOverLeadership();
    this.driver.stopAccepting();
    await this.http?.close();
    const until = Date.now() + graceMs;
    while (this.driver.inFlight > 0 && Date.now() < until) await this.driver.waitForProgress(Math.min(until, Date.now() + 50));
    this.stopPublishing?.();
    this.compactor.stop();
    this.watchHub.close();
    this.leaseExpiry.stop();
    this.leaseForwarder.close();
    this.clusterVersion.stop();
    this.driver.stop();
    this.snapshotSender.close();
    this.snapshots.close();
    this.digests.close();
    this.transport.close();
    this.router.close();
    await this.grpc.shutdown(until);
    this.healthServer?.forceShutdown();
    this.stopTlsReload();
    // An install in progress finishes on its worker's connection before this one closes.
    await this.snapshots.installDone();
    await this.checkpointer.close();
    await this.wal.close();
    if (this.db.open) this.db.close();
    this.logger.info('stopped');
  }
}
