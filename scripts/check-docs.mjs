#!/usr/bin/env node
// `npm run docs`: the API reference, and its completeness check. It converts the project
// once with TypeDoc's own API and the options of typedoc.json, writes the pages (docs/api),
// and checks that every symbol src/index.ts exports, and every public method of the exported
// classes, carries an `@example` block with a fenced code block in it (as the pages show
// them: @internal and private members are left out). It exits 1 naming each offender;
// TypeDoc's warnings (undocumented symbols, broken links) fail it too.
//
//   node scripts/check-docs.mjs
import { Application, ReflectionKind } from 'typedoc';

const app = await Application.bootstrapWithPlugins({});
const project = await app.convert();
if (!project) {
  console.error('check-docs: TypeDoc could not convert the project (see the errors above)');
  process.exit(1);
}
app.validate(project);
await app.generateDocs(project, app.options.getValue('out'));

/** Whether `comment` has an `@example` block whose text holds a fenced code block. */
function exampleIn(comment) {
  return (comment?.blockTags ?? []).some(
    (tag) => tag.tag === '@example' && tag.content.some((part) => part.kind === 'code' && part.text.startsWith('```')),
  );
}

/** A reflection's comments: its own, its signatures' (functions, methods), its accessors'. */
function comments(reflection) {
  return [
    reflection.comment,
    ...(reflection.signatures ?? []).map((s) => s.comment),
    reflection.getSignature?.comment,
    reflection.setSignature?.comment,
  ];
}

const hasExample = (reflection) => comments(reflection).some(exampleIn);

const offenders = [];
let checked = 0;
// One module per entry point (ferropool, ferropool/cluster): their symbols are checked alike.
const symbols = (project.children ?? []).flatMap((c) => (c.kindOf(ReflectionKind.Module) ? (c.children ?? []) : [c]));
for (const symbol of symbols) {
  checked++;
  if (!hasExample(symbol)) offenders.push(`${symbol.name} (${ReflectionKind.singularString(symbol.kind)})`);
  if (!symbol.kindOf(ReflectionKind.Class)) continue;
  for (const member of symbol.children ?? []) {
    if (!member.kindOf(ReflectionKind.Method)) continue;
    if (member.flags.isPrivate || member.flags.isProtected || member.flags.isExternal || member.inheritedFrom) continue;
    checked++;
    if (!hasExample(member)) offenders.push(`${symbol.name}${member.flags.isStatic ? '.' : '#'}${member.name} (method)`);
  }
}

if (checked === 0) {
  console.error('check-docs: found no exported symbols: is typedoc.json\'s entry point right?');
  process.exit(1);
}
if (offenders.length > 0) {
  console.error(`check-docs: ${offenders.length} of ${checked} public symbols and methods have no @example with a code block:`);
  for (const name of offenders) console.error(`  - ${name}`);
}
const warnings = app.logger.warningCount + app.logger.errorCount;
if (warnings > 0) console.error(`check-docs: TypeDoc reported ${warnings} warning(s) or error(s) (above)`);
if (offenders.length > 0 || warnings > 0) process.exit(1);
console.log(`check-docs: all ${checked} public symbols and methods have an @example`);
