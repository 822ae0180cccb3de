#!/usr/bin/env node
/**
 * The `ferropool` command: `ferropool worker --connection URL --queue NAME [--processes N]
 * [--secret S] [--name NAME]` runs a cluster host until SIGTERM or SIGINT.
 * @module
 */
import { parseArgs } from 'node:util';
import { serve } from './host';

const USAGE = `usage: ferropool worker --connection redis://host:6379 --queue NAME [--processes N] [--secret S] [--name NAME]
                       [--lock-duration MS] [--stalled-interval MS]
  Runs the chunks of new Pool({ cluster: { connection, queue } }) on this machine.
  The secret may also come from FERROPOOL_SECRET.`;

function fail(message: string): never {
  process.stderr.write(`ferropool: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function integer(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) fail(`--${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parseArgs<{ options: Record<string, { type: 'string' } | { type: 'boolean' }>; allowPositionals: true }>>;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        connection: { type: 'string' },
        queue: { type: 'string' },
        processes: { type: 'string' },
        secret: { type: 'string' },
        name: { type: 'string' },
        'lock-duration': { type: 'string' },
        'stalled-interval': { type: 'string' },
        help: { type: 'boolean' },
      },
    });
  } catch (err) {
    fail((err as Error).message);
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  if (v.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (parsed.positionals[0] !== 'worker' || parsed.positionals.length !== 1) fail(`unknown command ${JSON.stringify(parsed.positionals.join(' '))}`);
  if (typeof v.connection !== 'string') fail('--connection is required');
  if (typeof v.queue !== 'string') fail('--queue is required');
  const host = await serve({
    connection: v.connection,
    queue: v.queue,
    processes: integer(v.processes as string | undefined, 'processes'),
    secret: v.secret as string | undefined,
    name: v.name as string | undefined,
    lockDuration: integer(v['lock-duration'] as string | undefined, 'lock-duration'),
    stalledInterval: integer(v['stalled-interval'] as string | undefined, 'stalled-interval'),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const stop = () => {
    host.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`ferropool worker: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`ferropool worker: ${(err as Error).message}\n`);
  process.exit(1);
});
