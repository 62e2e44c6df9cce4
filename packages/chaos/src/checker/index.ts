export * from './history.js';
export * from './search.js';
export * from './minimize.js';
export * from './check.js';
export { renderOp, renderHistory } from './render.js';
export * from './lost-writes.js';
export * from './bank.js';
export * from './watch.js';
export * from './lock.js';
