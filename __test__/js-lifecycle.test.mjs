// How pools of JS workers interact with the life of the Node process, checked in child
// processes: an idle pool lets the process exit, process.exit() is not held up by busy
// workers, and a pending call keeps an otherwise idle process alive.
import test from 'ava';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Runs a fixture with node; SIGKILLed after `timeout` ms (then `code` is null). */
function runFixture(name, args = [], timeout = 15_000) {
  const file = fileURLToPath(new URL(`./fixtures/js/${name}`, import.meta.url));
  return new Promise((resolve) => {
    const started = Date.now();
    execFile(process.execPath, [file, ...args], { timeout, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, signal: error?.signal ?? null, stdout, stderr, ms: Date.now() - started });
    });
  });
}

const why = (r) => `exit code ${r.code}, signal ${r.signal} after ${r.ms} ms; stdout: ${JSON.stringify(r.stdout)}; stderr: ${r.stderr}`;

const idleCases = {
  map: 'ok:[2,4,6]\n',
  'all-methods': 'ok:[2,4,6]\nok:[3]\nok:2\nok:3\nok:[3,6,9]\n',
  'imap-break': 'ok:1\n',
  'after-crash': 'WorkerCrashedError\n',
  'after-timeout': 'TimeoutError\n',
  'after-error': 'RangeError\n',
  'max-tasks': 'ok:[2,3,4,5]\n',
  initializer: 'ok:[6,7]\n',
  'init-throws': 'RemoteError\n',
  'after-abort': 'AbortError\n',
  'imap-abandoned': 'ok:{"value":0,"done":false}\n',
};

for (const [mode, expected] of Object.entries(idleCases)) {
  test(`an idle pool that ran JS tasks does not keep the process alive (${mode})`, async (t) => {
    t.timeout(30_000);
    const r = await runFixture('idle-after.mjs', [mode], 15_000);
    t.is(r.code, 0, why(r));
    t.is(r.stdout, expected);
  });
}

test('process.exit() on the main thread while JS calls are in flight exits promptly with the code', async (t) => {
  t.timeout(30_000);
  const r = await runFixture('exit-in-flight.mjs', [], 15_000);
  t.is(r.code, 7, why(r));
  t.is(r.signal, null, why(r));
});

test('an unref\'d pool keeps the process alive while a call is pending', async (t) => {
  t.timeout(30_000);
  const r = await runFixture('pending-keeps-alive.mjs', [], 15_000);
  t.is(r.code, 0, why(r));
  t.is(r.stdout, 'map 40\napply done\nimap 10,20\napplyAsync 70\n');
});
