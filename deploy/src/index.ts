export * from './flags.js';
export * from './quorum.js';
export * from './render.js';
export * from './pod-env.js';
export * from './dockerignore.js';
