// Walks docs/bad-input.md's table (__test__/support/bad-input-cases.mjs): every row does what
// the table says, and the pool still answers afterwards.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Pool } from '../dist/index.mjs';
import { CASES } from './support/bad-input-cases.mjs';

const pool = new Pool(2);
test.after.always(() => pool.terminate());

for (const [area, what, call, expected] of CASES) {
  test(`${area} — ${what}`, async (t) => {
    let value;
    let error;
    try {
      value = await call(pool);
    } catch (e) {
      error = e;
    }
    if (expected.type) {
      t.truthy(error, `expected ${expected.type.name}, got ${String(value)}`);
      if (error) {
        t.true(error instanceof expected.type, `${error?.name}: ${error?.message}`);
        t.regex(String(error.message), expected.message);
        if (expected.name) t.is(error.name, expected.name);
      }
    } else {
      t.is(error, undefined, String(error?.stack ?? error));
      t.true(expected.check(value), `unexpected value ${String(value)}`);
    }
    t.deepEqual(await pool.map((x) => x + 1, [1, 2]), [2, 3]);
  });
}

test('docs/bad-input.md is generated from these rows and up to date', (t) => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const fresh = execFileSync(process.execPath, ['scripts/bad-input-table.mjs', '--stdout'], { cwd: root, encoding: 'utf8' });
  t.is(readFileSync(new URL('../docs/bad-input.md', import.meta.url), 'utf8'), fresh, 'run node scripts/bad-input-table.mjs');
});
