// winston JSON logs. Every line carries the node id and its current term and role, read from a
// mutable context the driver updates as the core reports changes.
import winston from 'winston';

export interface LogContext {
  node: string;
  term: number;
  role: string;
}

export type Logger = winston.Logger;

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * A node whose stdout goes away (its parent died holding the other end of a pipe or socket) must not
 * die or spin: every log line would fail with EPIPE, and an unhandled stream error, logged again,
 * looped and grew an orphaned node to 2.5 GB. Once the console is gone, console logging stops.
 */
function keepRunningWithoutConsole(): winston.transport {
  const console = new winston.transports.Console({ stderrLevels: [] });
  const silence = (err: NodeJS.ErrnoException): void => {
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED' || err.code === 'ECONNRESET') console.silent = true;
  };
  process.stdout.on('error', silence);
  process.stderr.on('error', silence);
  return console;
}

export function createLogger(ctx: LogContext, level: LogLevel): Logger {
  const stamp = winston.format((info) => {
    info['node'] = ctx.node;
    info['term'] = ctx.term;
    info['role'] = ctx.role;
    return info;
  });
  return winston.createLogger({
    level,
    format: winston.format.combine(stamp(), winston.format.timestamp(), winston.format.errors({ stack: false }), winston.format.json()),
    transports: [keepRunningWithoutConsole()],
  });
}
