/**
 * What crosses Redis between a caller and its hosts in cluster mode: the chunk payload, the
 * result message, their HMAC signatures, and the check that refuses shared-memory
 * arguments (which cannot cross machines).
 * @module
 */
import type { ResourceLimits } from 'node:worker_threads';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { deserialize, serialize } from 'node:v8';
import { describe } from '../util/describe';
import { Lock } from '../shared/lock';
import { Queue } from '../shared/queue';
import { Value } from '../shared/value';
import type { FnSpec, Items, WireError } from '../wire/protocol';

/** A built-in kernel as it travels: its name and parameters. */
export interface KernelSpec {
  k: 'kernel';
  name: string;
  params: readonly number[];
  /** An expression kernel's expression and constants (`name` is `'expr'`). */
  expr?: string;
  constants?: Readonly<Record<string, number>>;
}

/** A chunk of an expression kernel's inputs: the columns' slices, in the expression's input
 * order (`length` is the chunk's element count). */
export interface ExprChunk {
  length: number;
  columns: Array<Float64Array | Float32Array>;
}

/** How a host runs a chunk on its local pool. */
export type Mode = 'map' | 'star' | 'reduce' | 'kmap' | 'kreduce';

/** The pool's per-worker setup, applied on every host. */
export interface InitSpec {
  fn: FnSpec | undefined;
  args: unknown[];
  maxTasksPerChild: number | undefined;
  resourceLimits: ResourceLimits | undefined;
}

/** One chunk of one call: what a job carries (v8-serialised, so typed arrays travel as bytes). */
export interface ChunkPayload {
  v: 1;
  fn: FnSpec | KernelSpec;
  mode: Mode;
  /** The element-wise kernel applied first by a kernel reduction (`opts.map`). */
  pre?: KernelSpec;
  /** The call's `opts.args`, passed after each item's own arguments. */
  args?: unknown[];
  items: Items;
  /** The input position of the chunk's first item. */
  start: number;
  init: InitSpec;
  /** How many times the chunk may lose its host before the call fails. */
  maxRetries: number;
}

/** What a job's `data` is in the queue. */
export interface JobData {
  /** The payload, v8-serialised, base64. */
  p: string;
  /** The Redis list the result goes to. */
  r: string;
  /** HMAC-SHA256 (hex) over the job id, `r` and `p`, when the caller has a secret. */
  s?: string;
  /** 1 when the caller keeps a liveness key (`ferropool:QUEUE:caller:ID`) while it waits:
   * hosts skip the chunk when the key is gone. (Absent from older callers' jobs.) */
  c?: 1;
}

/** A host's answer for one chunk. */
export type ResultMessage =
  | { j: string; ok: true; v: Items | unknown; num: boolean; host: string }
  | { j: string; ok: false; e: WireError; host: string; crashed?: { exitCode: number | undefined } }
  /** The host refused the job without running it (bad or missing signature). Accepted
   * unsigned: it can only fail a call, never feed it a value. */
  | { j: string; refused: string; host: string };

export function encodePayload(p: ChunkPayload): string {
  return serialize(p).toString('base64');
}

export function decodePayload(p: string): ChunkPayload {
  return deserialize(Buffer.from(p, 'base64')) as ChunkPayload;
}

function mac(secret: string, ...parts: Array<string | Uint8Array>): Buffer {
  const h = createHmac('sha256', secret);
  for (const part of parts) {
    h.update(part);
    h.update('\n');
  }
  return h.digest();
}

export function signJob(secret: string, jobId: string, data: JobData): string {
  return mac(secret, jobId, data.r, data.p).toString('hex');
}

/** Whether a job's signature is the one `secret` makes (constant-time). */
export function jobSigned(secret: string, jobId: string, data: JobData): boolean {
  if (typeof data.s !== 'string' || data.s.length !== 64) return false;
  return timingSafeEqual(Buffer.from(data.s, 'hex'), mac(secret, jobId, data.r, data.p));
}

const SIGNED = 0x53; // 'S'
const PLAIN = 0x50; // 'P'

/** A result message as bytes: a tag, then (signed) a 32-byte HMAC, then the v8 bytes. */
export function encodeResult(msg: ResultMessage, secret: string | undefined): Buffer {
  const body = serialize(msg);
  if (secret === undefined || 'refused' in msg) return Buffer.concat([Buffer.from([PLAIN]), body]);
  return Buffer.concat([Buffer.from([SIGNED]), mac(secret, body), body]);
}

/** The message in `bytes`, or `undefined` when it is not signed with `secret` (a refusal
 * needs no signature: it can only make a call fail). */
export function decodeResult(bytes: Buffer, secret: string | undefined): ResultMessage | undefined {
  let msg: ResultMessage;
  try {
    if (bytes[0] === SIGNED) {
      const body = bytes.subarray(33);
      if (secret !== undefined && !timingSafeEqual(bytes.subarray(1, 33), mac(secret, body))) return undefined;
      msg = deserialize(body) as ResultMessage;
    } else if (bytes[0] === PLAIN) {
      msg = deserialize(bytes.subarray(1)) as ResultMessage;
      if (secret !== undefined && !('refused' in msg)) return undefined;
    } else return undefined;
  } catch {
    return undefined;
  }
  return typeof msg === 'object' && msg !== null && typeof msg.j === 'string' ? msg : undefined;
}

/**
 * Throws a `TypeError` naming `where` (e.g. `input[3]`) when `value` holds memory shared
 * with this machine's threads: a `Lock`, `Value`, `Queue`, `SharedArrayBuffer` or a view of
 * one. Those live in this process and cannot be sent to another machine.
 */
export function refuseShared(value: unknown, where: string, method: string, seen = new Set<object>()): void {
  if (typeof value !== 'object' || value === null) return;
  const fail = (what: string): never => {
    throw new TypeError(`${method}: ${where} is ${what}, which lives in this machine's shared memory and cannot be sent to cluster hosts (pass plain values, or use a local Pool)`);
  };
  if (value instanceof Lock || value instanceof Value || value instanceof Queue) fail(describe(value));
  if (value instanceof SharedArrayBuffer) fail('a SharedArrayBuffer');
  if (ArrayBuffer.isView(value)) {
    if (value.buffer instanceof SharedArrayBuffer) fail(`${describe(value)} over a SharedArrayBuffer`);
    return;
  }
  if (value instanceof ArrayBuffer || seen.has(value)) return;
  seen.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) refuseShared(value[i], `${where}[${i}]`, method, seen);
  } else if (value instanceof Map) {
    for (const [k, v] of value) {
      refuseShared(k, `a key of ${where}`, method, seen);
      refuseShared(v, `${where}.get(${typeof k === 'string' ? JSON.stringify(k) : '…'})`, method, seen);
    }
  } else if (value instanceof Set) {
    for (const v of value) refuseShared(v, `an element of ${where}`, method, seen);
  } else {
    for (const key of Object.keys(value)) refuseShared((value as Record<string, unknown>)[key], `${where}.${key}`, method, seen);
  }
}

/** `url` with its password (if any) replaced by `***`, for messages and logs. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.href;
  } catch {
    return url;
  }
}
