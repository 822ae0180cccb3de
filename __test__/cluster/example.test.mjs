// The cluster examples compile under strict TypeScript (importing 'ferropool' and
// 'ferropool/cluster' by name) and print exactly their `Output:` block, against the test Redis.
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { testRedis } from './support.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = fileURLToPath(new URL('../../examples/cluster/', import.meta.url));
const examples = readdirSync(dir).filter((f) => f.endsWith('.mts')).sort();
let redis;

test.before(async () => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'examples/cluster/tsconfig.json'], { cwd: root, stdio: 'pipe' });
  redis = await testRedis();
});
test.after.always(() => redis?.stop());

for (const file of examples) {
  test.serial(`examples/cluster/${file}`, (t) => {
    const source = readFileSync(dir + file, 'utf8');
    const m = /\/\* Output:\n([\s\S]*?)\*\/\s*$/.exec(source);
    t.truthy(m, 'the example ends with an Output: block');
    const r = spawnSync(process.execPath, [`${dir}.build/${file.replace(/\.mts$/, '.mjs')}`], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, REDIS_URL: redis.url } });
    t.is(r.signal, null, r.stderr);
    t.is(r.status, 0, r.stderr);
    t.is(r.stdout, m[1]);
  });
}
