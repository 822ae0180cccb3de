// Every example in examples/ compiles under strict TypeScript (importing 'ferropool' by name,
// as a user's project does) and prints exactly what its `Output:` block says.
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = fileURLToPath(new URL('../examples/', import.meta.url));
const examples = readdirSync(dir).filter((f) => f.endsWith('.mts')).sort();

test.before(() => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'examples/tsconfig.json'], { cwd: root, stdio: 'pipe' });
});

test('there are examples to run', (t) => {
  t.true(examples.length >= 12, examples.join(', '));
});

for (const file of examples) {
  test(`examples/${file}`, (t) => {
    const source = readFileSync(dir + file, 'utf8');
    const m = /\/\* Output:\n([\s\S]*?)\*\/\s*$/.exec(source);
    t.truthy(m, 'the example ends with an Output: block');
    const r = spawnSync(process.execPath, [`${dir}.build/${file.replace(/\.mts$/, '.mjs')}`], { encoding: 'utf8', timeout: 30_000 });
    t.is(r.signal, null, r.stderr);
    t.is(r.status, 0, r.stderr);
    t.is(r.stdout, m[1]);
  });
}
