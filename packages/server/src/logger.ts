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
    transports: [new winston.transports.Console({ stderrLevels: [] })],
  });
}
