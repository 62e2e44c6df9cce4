// Paths shared by the deploy tests.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const deployDir = join(dirname(fileURLToPath(import.meta.url)), '..');
export const repoRoot = join(deployDir, '..');
export const overlays = [
  { name: 'three', dir: join(deployDir, 'k8s', 'overlays', 'three'), replicas: 3 },
  { name: 'five', dir: join(deployDir, 'k8s', 'overlays', 'five'), replicas: 5 },
] as const;
