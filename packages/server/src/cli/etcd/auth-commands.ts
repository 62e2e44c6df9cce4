// raftctl's etcdctl auth commands: user, role and auth, with etcdctl 3.4's arguments, messages, exit
// codes and simple output (etcdctl/ctlv3/command/{user,role,auth}_command.go, printer_simple.go).
import { isServiceError, prefixEnd } from '@raftkv/client';
import { authpb, type etcdserverpb } from '@raftkv/proto';
import { EXIT, EtcdctlError } from './ops.js';
import { exitCodeOf, type EtcdIo } from './commands.js';

export const AUTH_COMMANDS = ['user', 'role', 'auth'] as const;
export type AuthCommand = (typeof AUTH_COMMANDS)[number];
export const isAuthCommand = (c: string | undefined): c is AuthCommand => (AUTH_COMMANDS as readonly (string | undefined)[]).includes(c);

export interface AuthFlags {
  readonly prefix?: boolean | undefined;
  readonly 'from-key'?: boolean | undefined;
  readonly detail?: boolean | undefined;
  readonly interactive?: boolean | undefined;
  readonly 'new-user-password'?: string | undefined;
  readonly 'no-password'?: boolean | undefined;
}

/** One etcdserverpb.Auth call by method name (raftctl sends it, with the user's token, to a member). */
export type AuthCall = <K extends keyof etcdserverpb.AuthServer & string>(method: K, req: AuthRequestOf<K>) => Promise<AuthResponseOf<K>>;
type Method<K extends keyof etcdserverpb.AuthServer> = etcdserverpb.AuthServer[K] extends (call: infer C, cb: infer CB) => void
  ? [C, CB]
  : never;
export type AuthRequestOf<K extends keyof etcdserverpb.AuthServer> = Method<K>[0] extends { request: infer R } ? R : never;
export type AuthResponseOf<K extends keyof etcdserverpb.AuthServer> = Method<K>[1] extends (e: never, r?: infer R) => void
  ? NonNullable<R>
  : never;

/** Runs one command; the exit code etcdctl would give. */
export async function runAuthCommand(cmd: AuthCommand, args: readonly string[], f: AuthFlags, call: AuthCall, io: EtcdIo): Promise<number> {
  return exitCodeOf(() => run(cmd, args, f, call, io), io);
}

const bad = (msg: string): EtcdctlError => new EtcdctlError(EXIT.badArgs, msg);

async function run(cmd: AuthCommand, all: readonly string[], f: AuthFlags, call: AuthCall, io: EtcdIo): Promise<void> {
  const [sub, ...args] = all;
  const out = (s: string): void => io.out(s);
  switch (`${cmd} ${sub ?? ''}`) {
    case 'auth enable': {
      if (args.length !== 0) throw bad('auth enable command does not accept any arguments');
      // etcdctl creates the root role and grants it to root when only that is missing.
      for (;;) {
        try {
          await call('authEnable', {});
          break;
        } catch (e) {
          if (!isServiceError(e) || e.details !== 'etcdserver: root user does not have root role') throw e;
          await call('roleAdd', { name: 'root' });
          await call('userGrantRole', { user: 'root', role: 'root' });
        }
      }
      return out('Authentication Enabled\n');
    }
    case 'auth disable':
      if (args.length !== 0) throw bad('auth disable command does not accept any arguments');
      await call('authDisable', {});
      return out('Authentication Disabled\n');
    case 'user add': {
      if (args.length !== 1) throw bad('user add command requires user name as its argument');
      let name = args[0]!;
      let password = '';
      if (f['no-password'] !== true) {
        if (f['new-user-password'] !== undefined && f['new-user-password'] !== '') password = f['new-user-password'];
        else {
          const i = name.indexOf(':');
          if (i < 0) password = readPassword(f, io);
          else {
            [name, password] = [name.slice(0, i), name.slice(i + 1)];
            if (name === '') throw bad('empty user name is not allowed');
          }
        }
      }
      await call('userAdd', { name, password, options: { noPassword: f['no-password'] === true } });
      return out(`User ${name} created\n`);
    }
    case 'user delete':
      if (args.length !== 1) throw bad('user delete command requires user name as its argument');
      await call('userDelete', { name: args[0]! });
      return out(`User ${args[0]} deleted\n`);
    case 'user get': {
      if (args.length !== 1) throw bad('user get command requires user name as its argument');
      const name = args[0]!;
      const r = await call('userGet', { name });
      if (f.detail !== true) return out(`User: ${name}\nRoles:${r.roles.map((x) => ` ${x}`).join('')}\n`);
      out(`User: ${name}\n`);
      for (const role of r.roles) {
        out('\n');
        printRole(role, (await call('roleGet', { role })).perm, out);
      }
      return;
    }
    case 'user list':
      if (args.length !== 0) throw bad('user list command requires no arguments');
      return out((await call('userList', {})).users.map((u) => `${u}\n`).join(''));
    case 'user passwd': {
      if (args.length !== 1) throw bad('user passwd command requires user name as its argument');
      await call('userChangePassword', { name: args[0]!, password: readPassword(f, io) });
      return out('Password updated\n');
    }
    case 'user grant-role':
      if (args.length !== 2) throw bad('user grant command requires user name and role name as its argument');
      await call('userGrantRole', { user: args[0]!, role: args[1]! });
      return out(`Role ${args[1]} is granted to user ${args[0]}\n`);
    case 'user revoke-role':
      if (args.length !== 2) throw bad('user revoke-role requires user name and role name as its argument');
      await call('userRevokeRole', { name: args[0]!, role: args[1]! });
      return out(`Role ${args[1]} is revoked from user ${args[0]}\n`);
    case 'role add':
      if (args.length !== 1) throw bad('role add command requires role name as its argument');
      await call('roleAdd', { name: args[0]! });
      return out(`Role ${args[0]} created\n`);
    case 'role delete':
      if (args.length !== 1) throw bad('role delete command requires role name as its argument');
      await call('roleDelete', { role: args[0]! });
      return out(`Role ${args[0]} deleted\n`);
    case 'role get':
      if (args.length !== 1) throw bad('role get command requires role name as its argument');
      return printRole(args[0]!, (await call('roleGet', { role: args[0]! })).perm, out);
    case 'role list':
      if (args.length !== 0) throw bad('role list command requires no arguments');
      return out((await call('roleList', {})).roles.map((r) => `${r}\n`).join(''));
    case 'role grant-permission': {
      if (args.length < 3) throw bad('role grant command requires role name, permission type, and key [endkey] as its argument');
      const permType = permissionType(args[1]!);
      const [key, rangeEnd] = permRange(args.slice(2), f);
      await call('roleGrantPermission', { name: args[0]!, perm: { permType, key, rangeEnd } });
      return out(`Role ${args[0]} updated\n`);
    }
    case 'role revoke-permission': {
      if (args.length < 2) throw bad('role revoke-permission command requires role name and key [endkey] as its argument');
      const [key, rangeEnd] = permRange(args.slice(1), f);
      await call('roleRevokePermission', { role: args[0]!, key, rangeEnd });
      const end = rangeEnd.toString('utf8');
      if (end === '') return out(`Permission of key ${args[1]} is revoked from role ${args[0]}\n`);
      if (end !== '\0') return out(`Permission of range [${args[1]}, ${end}) is revoked from role ${args[0]}\n`);
      return out(`Permission of range [${args[1]}, <open ended> is revoked from role ${args[0]}\n`);
    }
    default:
      throw bad(`unknown command "${sub ?? ''}" for "${cmd}"`);
  }
}

/** clientv3.StrToPermissionType. */
function permissionType(s: string): authpb.Permission_Type {
  const t = { READ: authpb.Permission_Type.READ, WRITE: authpb.Permission_Type.WRITE, READWRITE: authpb.Permission_Type.READWRITE }[
    s.toUpperCase()
  ];
  if (t === undefined) throw bad(`invalid permission type: ${s}`);
  return t;
}

/** etcdctl's permRange: (key, range_end) from `<key> [endkey]` with --prefix / --from-key. */
function permRange(args: readonly string[], f: AuthFlags): [Buffer, Buffer] {
  const key = Buffer.from(args[0]!);
  const b = (s: string): Buffer => Buffer.from(s);
  const prefix = f.prefix === true;
  const fromKey = f['from-key'] === true;
  if (key.length === 0) {
    if (prefix && fromKey) throw bad('--from-key and --prefix flags are mutually exclusive');
    return [b('\0'), b(prefix || fromKey ? '\0' : '')];
  }
  if (args.length === 1) {
    if (prefix) {
      if (fromKey) throw bad('--from-key and --prefix flags are mutually exclusive');
      return [key, prefixEnd(key)];
    }
    return [key, b(fromKey ? '\0' : '')];
  }
  if (prefix) throw bad('unexpected endkey argument with --prefix flag');
  if (fromKey) throw bad('unexpected endkey argument with --from-key flag');
  return [key, b(args[1]!)];
}

/** printer_simple.go RoleGet. */
function printRole(role: string, perms: readonly authpb.Permission[], out: (s: string) => void): void {
  const { READ, WRITE, READWRITE } = authpb.Permission_Type;
  const line = (p: authpb.Permission): string => {
    const key = Buffer.from(p.key).toString('utf8');
    const end = Buffer.from(p.rangeEnd).toString('utf8');
    if (end === '') return `\t${key}\n`;
    const head = end !== '\0' ? `\t[${key}, ${end})` : `\t[${key}, <open ended>`;
    return head + (prefixEnd(Buffer.from(p.key)).toString('utf8') === end ? ` (prefix ${key})` : '') + '\n';
  };
  out(`Role ${role}\nKV Read:\n`);
  out(
    perms
      .filter((p) => p.permType === READ || p.permType === READWRITE)
      .map(line)
      .join(''),
  );
  out('KV Write:\n');
  out(
    perms
      .filter((p) => p.permType === WRITE || p.permType === READWRITE)
      .map(line)
      .join(''),
  );
}

/** The password from standard input (etcdctl reads the terminal, or with --interactive=false one word of stdin). */
function readPassword(_f: AuthFlags, io: EtcdIo): string {
  const word = io.stdin().toString('utf8').trim().split(/\s+/)[0] ?? '';
  if (word === '') throw bad('empty password');
  return word;
}
