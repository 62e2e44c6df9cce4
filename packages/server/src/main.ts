#!/usr/bin/env node
// The raftkv node process. Flags: see config.ts (USAGE). Exit codes: 0 clean stop (SIGTERM/SIGINT),
// 1 fatal runtime error (e.g. the disk failed), 2 configuration error.
import { currentLogLevel, parseConfig, USAGE } from './cli/config.js';
import { ConfigError } from './errors.js';
import { RaftkvServer } from './raft-server.js';
import { versionText } from './version.js';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  if (argv.includes('--version')) {
    process.stdout.write(versionText('raftkv') + '\n');
    return;
  }
  let config;
  try {
    config = parseConfig(argv);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`raftkv: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  let server: RaftkvServer;
  const exit = (code: number): void => {
    // Let winston flush to stdout first.
    setTimeout(() => process.exit(code), 50);
  };
  try {
    server = new RaftkvServer(config, (err) => {
      void server.close(0).finally(() => exit(1));
      void err;
    });
    await server.start();
  } catch (e) {
    process.stderr.write(`raftkv: failed to start: ${(e as Error).message}\n`);
    process.exit(1);
  }
  let signalled = false;
  const stop = (sig: string): void => {
    if (signalled) return;
    signalled = true;
    server.logger.info('signal received', { signal: sig });
    server.close().then(
      () => exit(0),
      (e: unknown) => {
        server.logger.error('shutdown failed', { error: (e as Error).message });
        exit(1);
      },
    );
  };
  // SIGHUP: the log level again from flags > environment > --config-file (edit the file, then kill -HUP).
  process.on('SIGHUP', () => {
    try {
      const level = currentLogLevel(argv);
      const was = server.logger.level;
      server.logger.level = level;
      server.logger.info('SIGHUP: log level re-read', { from: was, to: level });
    } catch (e) {
      server.logger.error('SIGHUP: the configuration is not valid; log level unchanged', { error: (e as Error).message });
    }
  });
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('uncaughtException', (e) => {
    server.logger.error('uncaught exception', { error: e.message, stack: e.stack });
    void server.close(0).finally(() => exit(1));
  });
}

void main();
