// No Docker engine here: the Dockerfile is linted (dockerfile-utils), every path it copies from the
// build context must exist and survive .dockerignore, and the facts it repeats (pnpm version, Node
// major, uid, entry point, data dir, port) must agree with package.json and the manifests.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DockerfileParser, type Dockerfile, type Instruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { parse as parseYaml } from 'yaml';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { isIgnored, parseDockerignore } from '../src/index.js';
import { deployDir, repoRoot } from './paths.js';

const dockerfileText = readFileSync(join(deployDir, 'Dockerfile'), 'utf8');
const dockerfile: Dockerfile = DockerfileParser.parse(dockerfileText);
const ignorePath = join(repoRoot, '.dockerignore');
const rules = existsSync(ignorePath) ? parseDockerignore(readFileSync(ignorePath, 'utf8')) : [];
const rootPkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { packageManager: string };

interface WorkspacePackage {
  name: string;
  dir: string; // relative to the repo root
  dependencies?: Record<string, string>;
  bin?: Record<string, string>;
}
const workspace: WorkspacePackage[] = ['packages', '.']
  .flatMap((parent) => readdirSync(join(repoRoot, parent)).map((d) => join(parent, d)))
  .filter((dir) => dir.startsWith('packages/') || dir === 'deploy')
  .filter((dir) => existsSync(join(repoRoot, dir, 'package.json')))
  .map((dir) => ({ dir, ...JSON.parse(readFileSync(join(repoRoot, dir, 'package.json'), 'utf8')) }));

/** The server package and the workspace packages it depends on, transitively. */
function serverClosure(): WorkspacePackage[] {
  const byName = new Map(workspace.map((p) => [p.name, p]));
  const seen = new Map<string, WorkspacePackage>();
  const visit = (name: string) => {
    const p = byName.get(name);
    if (!p || seen.has(name)) return;
    seen.set(name, p);
    for (const [dep, spec] of Object.entries(p.dependencies ?? {})) if (spec.startsWith('workspace:')) visit(dep);
  };
  visit('@raftkv/server');
  return [...seen.values()];
}

function args(i: Instruction): string[] {
  return i.getArguments().map((a) => a.getValue());
}
function stages(): Instruction[][] {
  const out: Instruction[][] = [];
  for (const i of dockerfile.getInstructions()) {
    if (i.getKeyword() === 'FROM') out.push([]);
    out.at(-1)?.push(i);
  }
  return out;
}
function copiesFromContext(): string[] {
  return dockerfile
    .getInstructions()
    .filter((i) => i.getKeyword() === 'COPY' || i.getKeyword() === 'ADD')
    .filter((i) => !/--from[= ]/.test(i.getTextContent()))
    .flatMap((i) =>
      args(i)
        .filter((a) => !a.startsWith('--'))
        .slice(0, -1),
    );
}

test('.dockerignore exists at the build context root', () => {
  expect(existsSync(ignorePath)).toBe(true);
});

test('the Dockerfile lints clean', () => {
  expect(validate(dockerfileText).map((d) => `line ${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
});

test('the dockerignore matcher follows Docker semantics', () => {
  const r = parseDockerignore('**/node_modules\n*.log\ndata\n!data/keep\n# c\n');
  expect(isIgnored(r, 'node_modules/x')).toBe(true);
  expect(isIgnored(r, 'packages/server/node_modules')).toBe(true);
  expect(isIgnored(r, 'a.log')).toBe(true);
  expect(isIgnored(r, 'sub/a.log')).toBe(false); // `*` does not cross directories
  expect(isIgnored(r, 'data/n1/raft.db')).toBe(true);
  expect(isIgnored(r, 'data/keep')).toBe(false);
  expect(isIgnored(r, 'package.json')).toBe(false);
});

test('every path copied from the build context exists and is not ignored', () => {
  const sources = copiesFromContext();
  expect(sources.length).toBeGreaterThan(0);
  for (const src of sources) {
    expect([src, existsSync(join(repoRoot, src))]).toEqual([src, true]);
    if (src !== '.') expect([src, isIgnored(rules, src)]).toEqual([src, false]);
  }
});

test('the whole-context copy carries every build input of the server, and no local build output', () => {
  expect(copiesFromContext()).toContain('.');
  const inputs = ['package.json', 'pnpm-lock.yaml', 'pnpm-workspace.yaml', 'tsconfig.base.json', 'proto'];
  const closure = serverClosure();
  expect(closure.map((p) => p.name).sort()).toEqual(expect.arrayContaining(['@raftkv/proto', '@raftkv/server']));
  for (const p of closure) inputs.push(join(p.dir, 'package.json'), join(p.dir, 'tsconfig.json'), join(p.dir, 'src'));
  inputs.push('packages/proto/scripts/generate.mjs', 'packages/proto/buf.gen.yaml');
  for (const path of inputs) {
    expect([path, existsSync(join(repoRoot, path))]).toEqual([path, true]);
    expect([path, isIgnored(rules, path)]).toEqual([path, false]);
  }
  // Host node_modules carry native addons built for this machine; generated code is regenerated.
  for (const path of ['node_modules', 'packages/server/node_modules', 'packages/server/dist', '.git', 'packages/proto/src/gen']) {
    expect([path, isIgnored(rules, path)]).toEqual([path, true]);
  }
});

test('pnpm and Node versions match the workspace', () => {
  const pnpmVersion = rootPkg.packageManager.replace(/^pnpm@/, '');
  expect(dockerfileText).toContain(`pnpm@${pnpmVersion}`);
  expect(dockerfileText).not.toMatch(new RegExp(`pnpm@(?!${pnpmVersion.replaceAll('.', '\\.')}\\b)\\d`));
  const image = dockerfile
    .getARGs()
    .find((a) => a.getProperty()?.getName() === 'NODE_IMAGE')
    ?.getProperty()
    ?.getValue();
  expect(image).toMatch(/^node:20-[a-z]+-slim$/);
  const froms = dockerfile.getFROMs();
  expect(froms.length).toBeGreaterThanOrEqual(2); // multi-stage
  for (const f of froms) expect(f.getImageName()).toBe('${NODE_IMAGE}');
});

test('the build deploys only the server package with production dependencies', () => {
  const server = workspace.find((p) => p.name === '@raftkv/server');
  expect(server).toBeDefined();
  expect(dockerfileText).toMatch(/pnpm --filter @raftkv\/server deploy --prod --legacy \/out/);
  expect(dockerfileText).toMatch(/pnpm install --offline --frozen-lockfile/);
});

test('runtime stage: non-root uid matching the manifests, tini as PID 1, server entry point', () => {
  const runtime = stages().at(-1)!;
  const sts = parseYaml(readFileSync(join(deployDir, 'k8s', 'base', 'statefulset.yaml'), 'utf8')) as IStatefulSet;
  const podSecurity = sts.spec?.template.spec?.securityContext;
  const user = runtime.filter((i) => i.getKeyword() === 'USER').at(-1);
  expect(user && args(user)[0]).toBe(`${podSecurity?.runAsUser}:${podSecurity?.runAsGroup}`);

  const entry = runtime.find((i) => i.getKeyword() === 'ENTRYPOINT')!;
  const argv = JSON.parse(entry.getArgumentsContent() ?? '[]') as string[];
  expect(argv.slice(0, 3)).toEqual(['/usr/bin/tini', '--', 'node']);
  expect(runtime.some((i) => i.getKeyword() === 'RUN' && /apt-get install .*\btini\b/.test(i.getTextContent()))).toBe(true);
  const server = workspace.find((p) => p.name === '@raftkv/server')!;
  const workdir = runtime.filter((i) => i.getKeyword() === 'WORKDIR').at(-1);
  expect(workdir && args(workdir)[0]).toBe('/app');
  expect(argv[3]).toBe(server.bin?.['raftkv']?.replace(/^\.\//, ''));

  const container = sts.spec?.template.spec?.containers[0];
  const dataDir = container?.env?.find((e) => e.name === 'RAFTKV_DATA_DIR')?.value;
  expect(runtime.find((i) => i.getKeyword() === 'ENV')?.getTextContent()).toContain(`RAFTKV_DATA_DIR=${dataDir}`);
  const expose = runtime.find((i) => i.getKeyword() === 'EXPOSE');
  expect(expose && args(expose)).toEqual([String(container?.ports?.[0]?.containerPort)]);
});
