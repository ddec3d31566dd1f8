#!/usr/bin/env -S node --max-semi-space-size=8
// V8's young generation is capped at 8 MiB per semi-space: left to itself V8 grows it over a long
// simulation (it sizes it by allocation throughput), so peak RSS would grow with the run's length
// (docs/SIMULATOR.md §6). bench/sim.ts runs the simulator with the same flag.
// ioamsim command entry: loads the compiled CLI, dist/app/cli/main.js (built by `npm run build`
// in a clone; shipped in the npm package). In development, run the TypeScript directly instead:
//   node --import tsx app/cli/main.ts ...
'use strict';
const path = require('node:path');
const fs = require('node:fs');

// package.json "engines": the compiled CommonJS loads an ES-module dependency (hyparquet-writer)
// with require(), which Node 20 does by default from 20.19 on.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  process.stderr.write(`ioamsim: error: Node ${process.versions.node} is too old: ioamsim needs Node >= 20.19 (package.json "engines")\n`);
  process.exit(4);
}

const compiled = path.join(__dirname, '..', 'dist', 'app', 'cli', 'main.js');
if (!fs.existsSync(compiled)) {
  const inClone = fs.existsSync(path.join(__dirname, '..', 'app', 'cli', 'main.ts'));
  process.stderr.write(
    `ioamsim: error: the CLI is not built (missing ${path.relative(process.cwd(), compiled) || compiled})\n` +
      (inClone
        ? '  in a clone: run `npm run build:ts` (or `npm run build` for the native addon too),\n' +
          '  or run the TypeScript directly: node --import tsx app/cli/main.ts ...\n'
        : '  the installed ioamsim package is incomplete: reinstall it (npm install ioamsim)\n'),
  );
  process.exit(4);
}
require(compiled).main();
