export * from './cleanup.js';
export * from './node-args.js';
export * from './ports.js';
export * from './server-main.js';
export * from './wait.js';
export * from './etcdctl.js';
