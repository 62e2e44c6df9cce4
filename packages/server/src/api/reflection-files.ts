// proto-loader hands @grpc/reflection one file descriptor per package (etcdserverpb.proto, mvccpb.proto,
// ...) with an empty `dependency` list, so a client that builds the schema from them (grpcurl, buf curl)
// cannot resolve a type from another package — etcdserverpb's mvccpb.KeyValue and authpb.Permission —
// and fails to find the whole service. The dependency lists are filled in here from the types each
// file refers to, resolved by protobuf's scoping rules; nothing else in the descriptors changes.
import type { AnyDefinition, EnumTypeDefinition, MessageTypeDefinition, PackageDefinition } from '@grpc/proto-loader';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import type { IDescriptorProto, IFileDescriptorProto } from 'protobufjs/ext/descriptor/index.js';

/** A FileDescriptorProto as protobufjs decodes it (arrays always present). */
interface FileProto extends IFileDescriptorProto {
  name: string;
  package: string;
  dependency: string[];
  messageType: IDescriptorProto[];
}

/** Calls visit(scope, typeName) for every type name the file mentions (fields, nested too; methods). */
function references(file: FileProto, visit: (scope: string, ref: string) => void): void {
  const walk = (m: IDescriptorProto, scope: string): void => {
    const name = `${scope}.${m.name ?? ''}`;
    for (const f of m.field ?? []) if (f.typeName) visit(name, f.typeName);
    for (const n of m.nestedType ?? []) walk(n, name);
  };
  const pkg = file.package ? `.${file.package}` : '';
  for (const m of file.messageType) walk(m, pkg);
  for (const s of file.service ?? []) {
    for (const m of s.method ?? []) {
      if (m.inputType) visit(pkg, m.inputType);
      if (m.outputType) visit(pkg, m.outputType);
    }
  }
}

/** Every message and enum, by its full name with a leading dot, mapped to its file's name. */
function symbols(files: FileProto[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const file of files) {
    const walk = (m: IDescriptorProto, scope: string): void => {
      const name = `${scope}.${m.name ?? ''}`;
      out.set(name, file.name);
      for (const e of m.enumType ?? []) out.set(`${name}.${e.name ?? ''}`, file.name);
      for (const n of m.nestedType ?? []) walk(n, name);
    };
    const pkg = file.package ? `.${file.package}` : '';
    for (const m of file.messageType) walk(m, pkg);
    for (const e of file.enumType ?? []) out.set(`${pkg}.${e.name ?? ''}`, file.name);
  }
  return out;
}

/** A type name as written in scope, resolved innermost scope first (protobuf's rule). */
function resolve(index: Map<string, string>, scope: string, ref: string): string | undefined {
  if (ref.startsWith('.')) return index.get(ref);
  for (let s = scope; ; s = s.slice(0, s.lastIndexOf('.'))) {
    const file = index.get(`${s}.${ref}`);
    if (file !== undefined || s === '') return file;
  }
}

/** Message and enum types name their format; services are maps of methods. */
export const isType = (value: AnyDefinition): value is MessageTypeDefinition<object, object> | EnumTypeDefinition => 'format' in value;

/** The package definition with every file's `dependency` naming the files whose types it uses. */
export function withDependencies(def: PackageDefinition): PackageDefinition {
  const decode = (bytes: Buffer): FileProto => descriptor.FileDescriptorProto.decode(bytes) as unknown as FileProto;
  // Types of one package share their file's bytes: each distinct buffer is decoded once.
  const nameOf = new Map<Buffer, string>();
  const files = new Map<string, FileProto>();
  for (const value of Object.values(def)) {
    if (!isType(value)) continue;
    for (const bytes of value.fileDescriptorProtos) {
      if (nameOf.has(bytes)) continue;
      const file = decode(bytes);
      nameOf.set(bytes, file.name);
      if (!files.has(file.name)) files.set(file.name, file);
    }
  }
  const index = symbols([...files.values()]);
  const patched = new Map<string, Buffer>();
  for (const file of files.values()) {
    const deps = new Set(file.dependency);
    references(file, (scope, ref) => {
      const dep = resolve(index, scope, ref);
      if (dep !== undefined && dep !== file.name) deps.add(dep);
    });
    file.dependency = [...deps].sort();
    patched.set(file.name, Buffer.from(descriptor.FileDescriptorProto.encode(file).finish()));
  }
  const patch = (bytes: Buffer): Buffer => patched.get(nameOf.get(bytes) ?? '') ?? bytes;
  return Object.fromEntries(
    Object.entries(def).map(([name, value]) =>
      isType(value) ? [name, { ...value, fileDescriptorProtos: value.fileDescriptorProtos.map(patch) }] : [name, value],
    ),
  );
}
