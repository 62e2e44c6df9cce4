// etcdserverpb.Auth (etcd 3.4's auth API). Changes are proposed on the leader (router.etcdAuth) as
// Command entries naming the caller's user and applied by storage/auth/ on every node; the proposer
// hashes passwords and draws the token key, so applying is deterministic. Reads (UserGet, RoleList...)
// and Authenticate are served by the leader after a ReadIndex round, so they see every change already
// acknowledged. Who may do what follows etcd's apply_auth.go: auth management needs root; a user may
// get itself and the roles it holds.
import { randomBytes } from 'node:crypto';
import type { ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import type { Command, etcdserverpb } from '@raftkv/proto';
import type { RaftDriver } from '../node/driver.js';
import { encodeCommand, responseOf } from '../storage/command.js';
import type { HeaderIds } from '../storage/member-id.js';
import type { KvStateMachine } from '../storage/state-machine.js';
import { checkAdmin } from '../storage/auth/authorize.js';
import * as E from '../storage/auth/errors.js';
import { hashPassword, verifyPassword } from '../storage/auth/password.js';
import type { AuthGate } from './auth-gate.js';
import { answer, deadlineOf } from './call.js';
import { afterReadIndex, headerFiller, withTimeout, type WithHeader } from './etcd-call.js';
import { toEtcdStatus } from './grpc-errors.js';
import { answerBy, isForwarded, type EtcdAuthCall, type LeaderRouter } from './router.js';

export interface AuthServiceDeps {
  readonly driver: RaftDriver;
  readonly sm: KvStateMachine;
  readonly router: LeaderRouter;
  readonly ids: HeaderIds;
  readonly gate: AuthGate;
}

type Handler<Req, Res> = (call: ServerUnaryCall<Req, Res>, cb: sendUnaryData<Res>) => void;
type AuthRequest = NonNullable<Command['request']>;
/** The same call on the leader's Auth client. */
type Remote<Req, Res> = (
  c: etcdserverpb.AuthClient,
  r: Req,
  ...rest: Parameters<EtcdAuthCall<Res>> extends [unknown, ...infer T] ? T : never
) => unknown;

export function authService(d: AuthServiceDeps): etcdserverpb.AuthServer {
  const { driver, sm, router, gate } = d;
  const store = sm.auth;
  const filled = headerFiller(driver, sm, d.ids);

  /** Proposes the change `build` makes (on the node that proposes it) and answers `{}` once applied. */
  const change =
    <Req, Res extends WithHeader>(build: (r: Req) => AuthRequest | Promise<AuthRequest>, remote: Remote<Req, Res>): Handler<Req, Res> =>
    (call, cb) => {
      const run = async (): Promise<Res> => {
        const user = gate.requireRoot(call);
        const deadline = deadlineOf(call);
        const local = async (): Promise<Res> => {
          const data = encodeCommand(await build(call.request), user);
          responseOf(await withTimeout(driver.propose(data), answerBy(deadline), driver.leaderId), 'auth');
          return {} as Res;
        };
        const remoteCall: EtcdAuthCall<Res> = (c, md, o, k) => remote(c, call.request, md, o, k);
        return router.etcdAuth(true, deadline, isForwarded(call), local, remoteCall, gate.forwardToken(call));
      };
      answer(run().then(filled), cb, undefined, toEtcdStatus);
    };

  /** Answers from the leader's auth state after a ReadIndex round; `serve` checks who may ask. */
  const query =
    <Req, Res extends WithHeader>(
      serve: (r: Req, user: string) => Res | Promise<Res>,
      remote: Remote<Req, Res>,
      anonymous = false,
    ): Handler<Req, Res> =>
    (call, cb) => {
      const run = async (): Promise<Res> => {
        const user = anonymous ? '' : gate.user(call);
        const local = (): Promise<Res> => afterReadIndex(driver, () => serve(call.request, user));
        const token = anonymous ? null : gate.forwardToken(call);
        const remoteCall: EtcdAuthCall<Res> = (c, md, o, k) => remote(c, call.request, md, o, k);
        return router.etcdAuth(false, deadlineOf(call), isForwarded(call), local, remoteCall, token);
      };
      answer(run().then(filled), cb, undefined, toEtcdStatus);
    };

  const admin = (user: string): void => checkAdmin(store, user);

  return {
    authEnable: change<etcdserverpb.AuthEnableRequest, etcdserverpb.AuthEnableResponse>(
      () => ({ $case: 'authEnable', authEnable: { tokenKey: randomBytes(32) } }),
      (c, r, md, o, k) => c.authEnable(r, md, o, k),
    ),
    authDisable: change<etcdserverpb.AuthDisableRequest, etcdserverpb.AuthDisableResponse>(
      (r) => ({ $case: 'authDisable', authDisable: r }),
      (c, r, md, o, k) => c.authDisable(r, md, o, k),
    ),
    authenticate: query<etcdserverpb.AuthenticateRequest, etcdserverpb.AuthenticateResponse>(
      async (r) => {
        if (!store.enabled) throw E.authNotEnabled();
        const u = store.user(r.name);
        if (u === undefined || u.noPassword || !(await verifyPassword(r.password, u.passwordHash))) throw E.authFailed();
        return { token: gate.sign(r.name) };
      },
      (c, r, md, o, k) => c.authenticate(r, md, o, k),
      true,
    ),
    userAdd: change<etcdserverpb.AuthUserAddRequest, etcdserverpb.AuthUserAddResponse>(
      async (r) => {
        const noPassword = r.options?.noPassword ?? false;
        // etcd checks the name before hashing; so does applying, but an empty name need not cost a hash.
        if (r.name === '') throw E.userEmpty();
        const passwordHash = noPassword ? '' : await hashPassword(r.password);
        return { $case: 'userAdd', userAdd: { name: r.name, passwordHash, noPassword } };
      },
      (c, r, md, o, k) => c.userAdd(r, md, o, k),
    ),
    userDelete: change<etcdserverpb.AuthUserDeleteRequest, etcdserverpb.AuthUserDeleteResponse>(
      (r) => ({ $case: 'userDelete', userDelete: r }),
      (c, r, md, o, k) => c.userDelete(r, md, o, k),
    ),
    userChangePassword: change<etcdserverpb.AuthUserChangePasswordRequest, etcdserverpb.AuthUserChangePasswordResponse>(
      async (r) => ({ $case: 'userChangePassword', userChangePassword: { name: r.name, passwordHash: await hashPassword(r.password) } }),
      (c, r, md, o, k) => c.userChangePassword(r, md, o, k),
    ),
    userGrantRole: change<etcdserverpb.AuthUserGrantRoleRequest, etcdserverpb.AuthUserGrantRoleResponse>(
      (r) => ({ $case: 'userGrantRole', userGrantRole: r }),
      (c, r, md, o, k) => c.userGrantRole(r, md, o, k),
    ),
    userRevokeRole: change<etcdserverpb.AuthUserRevokeRoleRequest, etcdserverpb.AuthUserRevokeRoleResponse>(
      (r) => ({ $case: 'userRevokeRole', userRevokeRole: r }),
      (c, r, md, o, k) => c.userRevokeRole(r, md, o, k),
    ),
    roleAdd: change<etcdserverpb.AuthRoleAddRequest, etcdserverpb.AuthRoleAddResponse>(
      (r) => ({ $case: 'roleAdd', roleAdd: r }),
      (c, r, md, o, k) => c.roleAdd(r, md, o, k),
    ),
    roleDelete: change<etcdserverpb.AuthRoleDeleteRequest, etcdserverpb.AuthRoleDeleteResponse>(
      (r) => ({ $case: 'roleDelete', roleDelete: r }),
      (c, r, md, o, k) => c.roleDelete(r, md, o, k),
    ),
    roleGrantPermission: change<etcdserverpb.AuthRoleGrantPermissionRequest, etcdserverpb.AuthRoleGrantPermissionResponse>(
      (r) => ({ $case: 'roleGrantPermission', roleGrantPermission: r }),
      (c, r, md, o, k) => c.roleGrantPermission(r, md, o, k),
    ),
    roleRevokePermission: change<etcdserverpb.AuthRoleRevokePermissionRequest, etcdserverpb.AuthRoleRevokePermissionResponse>(
      (r) => ({ $case: 'roleRevokePermission', roleRevokePermission: r }),
      (c, r, md, o, k) => c.roleRevokePermission(r, md, o, k),
    ),
    userGet: query<etcdserverpb.AuthUserGetRequest, etcdserverpb.AuthUserGetResponse>(
      (r, user) => {
        if (r.name !== user) admin(user);
        const u = store.user(r.name);
        if (u === undefined) throw E.userNotFound();
        return { roles: [...u.roles] };
      },
      (c, r, md, o, k) => c.userGet(r, md, o, k),
    ),
    userList: query<etcdserverpb.AuthUserListRequest, etcdserverpb.AuthUserListResponse>(
      (_r, user) => {
        admin(user);
        return { users: store.users() };
      },
      (c, r, md, o, k) => c.userList(r, md, o, k),
    ),
    roleGet: query<etcdserverpb.AuthRoleGetRequest, etcdserverpb.AuthRoleGetResponse>(
      (r, user) => {
        if (!(store.user(user)?.roles.includes(r.role) ?? false)) admin(user);
        const perm = store.permissionsOf(r.role);
        if (perm === undefined) throw E.roleNotFound();
        return { perm };
      },
      (c, r, md, o, k) => c.roleGet(r, md, o, k),
    ),
    roleList: query<etcdserverpb.AuthRoleListRequest, etcdserverpb.AuthRoleListResponse>(
      (_r, user) => {
        admin(user);
        return { roles: store.roles() };
      },
      (c, r, md, o, k) => c.roleList(r, md, o, k),
    ),
  };
}
