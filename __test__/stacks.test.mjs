// A task error's stack points at the user's code: the shipped function's frames carry its
// file and line, and the part after the worker's frames is where the call was made (captured
// when the call is made), without ferropool's internals. Also the hints shipped functions
// get for imports and globals that do not come along.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { Pool } from 'ferropool';

const pool = new Pool(2);
test.after.always(() => pool.terminate());

const HERE = import.meta.url;

function thrower(n) {
  if (n === 3) throw new RangeError(`bad ${n}`); // THROW LINE
  return n;
}
const THROW_LINE = 15;

/** The line of this file where `marker` is written. */
function lineOf(stack, what) {
  const m = new RegExp(`${HERE.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:(\\d+):\\d+`).exec(stack.slice(stack.indexOf(what)));
  return m ? Number(m[1]) : undefined;
}

test('map: the worker frame is the function in this file, then the line of the call', async (t) => {
  const err = await t.throwsAsync(pool.map(thrower, [1, 2, 3, 4], { chunksize: 1 }), { instanceOf: RangeError }); const CALL_LINE = 27;
  const [worker, caller] = err.stack.split('--- the task ran in a pool worker; the call was made: ---');
  t.truthy(caller, err.stack);
  t.regex(worker, /^RangeError: bad 3\n\s+at thrower \(/);
  t.is(lineOf(worker, 'at thrower'), THROW_LINE, err.stack);
  const column = readFileSync(new URL(HERE), 'utf8').split('\n')[THROW_LINE - 1].indexOf('new RangeError') + 1;
  t.true(worker.includes(`${HERE}:${THROW_LINE}:${column})`), `the column too (${column}): ${worker}`);
  t.is(lineOf(caller, 'at '), CALL_LINE, err.stack);
  t.notRegex(err.stack, /dist[\\/]|node:internal/, 'no ferropool or Node internals');
});

test('starmap, reduce and imap errors end with their call lines too', async (t) => {
  const s = await t.throwsAsync(pool.starmap(thrower, [[3]])); const S = 39;
  t.is(lineOf(s.stack, 'the call was made'), S, s.stack);
  const r = await t.throwsAsync(pool.reduce((a, b) => { throw new Error(`r${a + b}`); }, [1, 2])); const R = 41;
  t.is(lineOf(r.stack, 'the call was made'), R, r.stack);
  const it = pool.imap(thrower, [1, 2, 3]); const I = 43;
  const seen = [];
  const e = await t.throwsAsync(async () => { for await (const x of it) seen.push(x); });
  t.deepEqual(seen, [1, 2]);
  t.is(lineOf(e.stack, 'the call was made'), I, e.stack);
});

test('a shipped function defined elsewhere than the caller still names itself', async (t) => {
  const fn = new Function('return function fromElsewhere(x) {\n  throw new Error("x" + x);\n}')();
  const err = await t.throwsAsync(pool.map(fn, [1]));
  t.regex(err.stack, /at fromElsewhere \(shipped:fromElsewhere:2:\d+\)/);
});

test('apply errors keep the worker frames and no ferropool internals', async (t) => {
  const err = await t.throwsAsync(pool.apply(thrower, [3]));
  t.is(lineOf(err.stack, 'at thrower'), THROW_LINE, err.stack);
  t.notRegex(err.stack, /dist[\\/]/);
});

test('crypto.createHash in a shipped function: a hint that the import does not come along', async (t) => {
  const err = await t.throwsAsync(pool.map((s) => crypto.createHash('sha256').update(s).digest('hex'), ['a']), { instanceOf: TypeError });
  t.regex(err.message, /^crypto\.createHash is not a function \(in the worker, crypto is the global crypto, not the module 'node:crypto'/);
  t.regex(err.message, /process\.getBuiltinModule\('node:crypto'\)/);
  t.true(err.stack.startsWith(`TypeError: ${err.message}`));
});

test('a Node module name, or a TypeScript-compiled import, that is not defined in the worker', async (t) => {
  const fs = await t.throwsAsync(pool.map(function readIt(p) { return fs.readFileSync(p); }, ['x']), { name: 'TaskSerializationError' });
  t.regex(fs.message, /^readIt uses fs, which does not exist in the worker: .*import.*process\.getBuiltinModule\('node:fs'\)/);
  const compiled = new Function('return function hash(s) { return (0, node_crypto_1.createHash)("sha1").update(s).digest("hex"); }')();
  const ts = await t.throwsAsync(pool.map(compiled, ['x']), { name: 'TaskSerializationError' });
  t.regex(ts.message, /^hash uses node_crypto_1, which is how TypeScript compiles a module import/);
});

test('a function that reads a module import from process.getBuiltinModule works', async (t) => {
  const out = await pool.map((s) => process.getBuiltinModule('node:crypto').createHash('sha1').update(s).digest('hex').slice(0, 8), ['a']);
  t.deepEqual(out, ['86f7e437']);
});
