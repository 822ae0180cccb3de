// Every example in examples/ compiles under strict TypeScript (examples/tsconfig.json,
// importing 'ferropool' by name, as a user's project does) and prints exactly what its
// `Output:` block says. The compiler runs in this process, once, with skipLibCheck: the
// published .d.ts files are checked with the lib checks on by pack.test.mjs's strict
// consumer project (and `npm run typecheck`).
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describeRun, runNode } from './support/helpers.mjs';

const dir = fileURLToPath(new URL('../examples/', import.meta.url));
const examples = readdirSync(dir).filter((f) => f.endsWith('.mts')).sort();

let diagnostics = [];
test.before(() => {
  const config = ts.getParsedCommandLineOfConfigFile(`${dir}tsconfig.json`, { skipLibCheck: true }, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); } });
  const program = ts.createProgram(config.fileNames, config.options);
  const emitted = program.emit();
  diagnostics = [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics].map((d) => `${d.file?.fileName ?? ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
});

test('there are examples, and they type-check', (t) => {
  t.true(examples.length >= 12, examples.join(', '));
  t.deepEqual(diagnostics, []);
});

for (const file of examples) {
  test(`examples/${file}`, async (t) => {
    t.timeout(120_000);
    const source = readFileSync(dir + file, 'utf8');
    const m = /\/\* Output:\n([\s\S]*?)\*\/\s*$/.exec(source);
    t.truthy(m, 'the example ends with an Output: block');
    const r = await runNode(`${dir}.build/${file.replace(/\.mts$/, '.mjs')}`, { timeout: 30_000 });
    t.is(r.signal, null, describeRun(r));
    t.is(r.code, 0, describeRun(r));
    t.is(r.stdout, m[1]);
  });
}
