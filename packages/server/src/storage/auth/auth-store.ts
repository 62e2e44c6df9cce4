// etcd 3.4's auth store (auth/store.go) over the node's SQLite database: users with hashed passwords,
// roles with key-range permissions, the enabled flag, the auth revision and the token key. Writes are
// applied from committed entries inside the Ready's transaction (state-machine.ts), so every node holds
// the same auth state; each write checks everything first and then writes, so a refused command
// changes nothing. Passwords arrive hashed: the proposer hashes (password.ts), never the applier.
import { authpb, type etcdserverpb } from '@raftkv/proto';
import type { Hash } from 'node:crypto';
import type { Statement } from 'better-sqlite3';
import type { Db } from '../db.js';
import * as E from './errors.js';
import { RangePermissions } from './permissions.js';

export const ROOT = 'root';

export interface AuthUser {
  readonly name: string;
  /** password.ts's encoding; '' for a user without password (client-certificate identity only). */
  readonly passwordHash: string;
  readonly noPassword: boolean;
  /** Sorted bytewise, as etcd keeps them. */
  readonly roles: readonly string[];
}

interface Meta {
  enabled: boolean;
  revision: number;
  tokenKey: Buffer;
}

type Perm = authpb.Permission;

export class AuthStore {
  private meta: Meta = { enabled: false, revision: 1, tokenKey: Buffer.alloc(0) };
  /** Merged permissions by user, dropped on every change. */
  private permCache = new Map<string, RangePermissions>();
  private readonly q: {
    user: Statement<[string]>;
    users: Statement<[]>;
    userRoles: Statement<[string]>;
    role: Statement<[string]>;
    roles: Statement<[]>;
    perms: Statement<[string]>;
  };

  constructor(private readonly db: Db) {
    this.q = {
      user: db.prepare('SELECT name, password_hash, no_password FROM auth_users WHERE name = ?'),
      users: db.prepare('SELECT name FROM auth_users ORDER BY name').pluck(),
      userRoles: db.prepare('SELECT role FROM auth_user_roles WHERE user = ? ORDER BY role').pluck(),
      role: db.prepare('SELECT name FROM auth_roles WHERE name = ?').pluck(),
      roles: db.prepare('SELECT name FROM auth_roles ORDER BY name').pluck(),
      perms: db.prepare('SELECT key, range_end, perm_type FROM auth_role_perms WHERE role = ? ORDER BY key, range_end'),
    };
    this.reload();
  }

  /** Re-reads the state (at start, and after a snapshot replaced it). */
  reload(): void {
    const m = this.db.prepare('SELECT enabled, revision, token_key FROM auth_meta WHERE id = 0').get() as
      | { enabled: number; revision: number; token_key: Buffer }
      | undefined;
    this.meta =
      m === undefined
        ? { enabled: false, revision: 1, tokenKey: Buffer.alloc(0) }
        : {
            enabled: m.enabled === 1,
            revision: m.revision,
            tokenKey: m.token_key,
          };
    this.permCache = new Map();
  }

  get enabled(): boolean {
    return this.meta.enabled;
  }
  get revision(): number {
    return this.meta.revision;
  }
  get tokenKey(): Buffer {
    return this.meta.tokenKey;
  }

  user(name: string): AuthUser | undefined {
    const r = this.q.user.get(name) as { name: string; password_hash: string; no_password: number } | undefined;
    if (r === undefined) return undefined;
    return { name: r.name, passwordHash: r.password_hash, noPassword: r.no_password === 1, roles: this.q.userRoles.all(name) as string[] };
  }
  users(): string[] {
    return this.q.users.all() as string[];
  }
  roleExists(name: string): boolean {
    return this.q.role.get(name) !== undefined;
  }
  roles(): string[] {
    return this.q.roles.all() as string[];
  }
  /** The role's permissions sorted by key (then range end); undefined when there is no such role. */
  permissionsOf(role: string): Perm[] | undefined {
    if (!this.roleExists(role)) return undefined;
    const rows = this.q.perms.all(role) as { key: Buffer; range_end: Buffer; perm_type: number }[];
    return rows.map((r) => ({ key: r.key, rangeEnd: r.range_end, permType: r.perm_type as authpb.Permission_Type }));
  }

  isRoot(user: string): boolean {
    return this.user(user)?.roles.includes(ROOT) ?? false;
  }

  /** The user's merged key-range permissions; undefined for an unknown user. */
  rangePermissions(user: string): RangePermissions | undefined {
    const cached = this.permCache.get(user);
    if (cached !== undefined) return cached;
    const u = this.user(user);
    if (u === undefined) return undefined;
    const p = new RangePermissions(u.roles.flatMap((r) => this.permissionsOf(r) ?? []));
    this.permCache.set(user, p);
    return p;
  }

  // ---- applying committed commands (inside the Ready's transaction) ----

  /** etcd's AuthEnable: requires the root user with the root role; enabling again changes nothing. */
  enable(tokenKey: Uint8Array): void {
    if (this.meta.enabled) return;
    const root = this.user(ROOT);
    if (root === undefined) throw E.rootUserNotExist();
    if (!root.roles.includes(ROOT)) throw E.rootRoleNotExist();
    this.writeMeta({ ...this.meta, enabled: true, tokenKey: Buffer.from(tokenKey) }, false);
  }

  disable(): void {
    if (!this.meta.enabled) return;
    this.writeMeta({ ...this.meta, enabled: false }, true);
  }

  userAdd(name: string, passwordHash: string, noPassword: boolean): void {
    if (name === '') throw E.userEmpty();
    if (this.user(name) !== undefined) throw E.userAlreadyExist();
    this.db
      .prepare('INSERT INTO auth_users (name, password_hash, no_password) VALUES (?, ?, ?)')
      .run(name, passwordHash, noPassword ? 1 : 0);
    this.changed();
  }

  userDelete(name: string): void {
    if (this.meta.enabled && name === ROOT) throw E.invalidAuthMgmt();
    if (this.user(name) === undefined) throw E.userNotFound();
    this.db.prepare('DELETE FROM auth_user_roles WHERE user = ?').run(name);
    this.db.prepare('DELETE FROM auth_users WHERE name = ?').run(name);
    this.changed();
  }

  changePassword(name: string, passwordHash: string): void {
    if (this.user(name) === undefined) throw E.userNotFound();
    this.db.prepare('UPDATE auth_users SET password_hash = ? WHERE name = ?').run(passwordHash, name);
    this.changed();
  }

  grantRole(user: string, role: string): void {
    const u = this.user(user);
    if (u === undefined) throw E.userNotFound();
    // etcd grants "root" without the role existing.
    if (role !== ROOT && !this.roleExists(role)) throw E.roleNotFound();
    if (u.roles.includes(role)) return;
    this.db.prepare('INSERT INTO auth_user_roles (user, role) VALUES (?, ?)').run(user, role);
    this.changed();
  }

  revokeRole(user: string, role: string): void {
    if (this.meta.enabled && user === ROOT && role === ROOT) throw E.invalidAuthMgmt();
    const u = this.user(user);
    if (u === undefined) throw E.userNotFound();
    if (!u.roles.includes(role)) throw E.roleNotGranted();
    this.db.prepare('DELETE FROM auth_user_roles WHERE user = ? AND role = ?').run(user, role);
    this.changed();
  }

  roleAdd(name: string): void {
    if (name === '') throw E.roleEmpty();
    if (this.roleExists(name)) throw E.roleAlreadyExist();
    this.db.prepare('INSERT INTO auth_roles (name) VALUES (?)').run(name);
    this.changed();
  }

  roleDelete(name: string): void {
    if (this.meta.enabled && name === ROOT) throw E.invalidAuthMgmt();
    if (!this.roleExists(name)) throw E.roleNotFound();
    this.db.prepare('DELETE FROM auth_role_perms WHERE role = ?').run(name);
    this.db.prepare('DELETE FROM auth_user_roles WHERE role = ?').run(name);
    this.db.prepare('DELETE FROM auth_roles WHERE name = ?').run(name);
    this.changed();
  }

  /** Grants, or changes the type of, the permission on exactly (key, range_end). */
  grantPermission(r: etcdserverpb.AuthRoleGrantPermissionRequest): void {
    if (!this.roleExists(r.name)) throw E.roleNotFound();
    const p = r.perm ?? { permType: authpb.Permission_Type.READ, key: Buffer.alloc(0), rangeEnd: Buffer.alloc(0) };
    const type = p.permType as number;
    this.db
      .prepare('INSERT OR REPLACE INTO auth_role_perms (role, key, range_end, perm_type) VALUES (?, ?, ?, ?)')
      .run(r.name, Buffer.from(p.key), Buffer.from(p.rangeEnd), type);
    this.changed();
  }

  revokePermission(r: etcdserverpb.AuthRoleRevokePermissionRequest): void {
    if (!this.roleExists(r.role)) throw E.roleNotFound();
    const res = this.db
      .prepare('DELETE FROM auth_role_perms WHERE role = ? AND key = ? AND range_end = ?')
      .run(r.role, Buffer.from(r.key), Buffer.from(r.rangeEnd));
    if (res.changes === 0) throw E.permissionNotGranted();
    this.changed();
  }

  /** Feeds every auth table, in a fixed order, to a digest (state-machine.ts digest()). */
  digestInto(h: Hash): void {
    // A store nothing was ever applied to (every change but AuthEnable raises the revision) adds nothing:
    // a state without auth digests as v0.2.0's did, so members of both releases compare during an upgrade.
    if (!this.meta.enabled && this.meta.revision === 1) return;
    const field = (v: unknown): void => {
      const b = Buffer.isBuffer(v) ? v : Buffer.from(String(v), 'utf8');
      const len = Buffer.alloc(4);
      len.writeUInt32BE(b.length);
      h.update(len);
      h.update(b);
    };
    field(this.meta.enabled ? 1 : 0);
    field(this.meta.revision);
    field(this.meta.tokenKey);
    const tables = [
      'SELECT name, password_hash, no_password FROM auth_users ORDER BY name',
      'SELECT user, role FROM auth_user_roles ORDER BY user, role',
      'SELECT name FROM auth_roles ORDER BY name',
      'SELECT role, key, range_end, perm_type FROM auth_role_perms ORDER BY role, key, range_end',
    ];
    for (const sql of tables) {
      field(sql);
      for (const row of this.db.prepare(sql).raw().iterate() as IterableIterator<unknown[]>) for (const v of row) field(v);
    }
  }

  /** etcd's commitRevision: every successful change but AuthEnable raises the auth revision. */
  private changed(): void {
    this.writeMeta(this.meta, true);
  }

  private writeMeta(m: Meta, bump: boolean): void {
    const next = { ...m, revision: m.revision + (bump ? 1 : 0) };
    this.db
      .prepare('INSERT OR REPLACE INTO auth_meta (id, enabled, revision, token_key) VALUES (0, ?, ?, ?)')
      .run(next.enabled ? 1 : 0, next.revision, next.tokenKey);
    this.meta = next;
    this.permCache = new Map();
  }
}
