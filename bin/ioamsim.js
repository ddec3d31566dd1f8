#!/usr/bin/env node
// ioamsim command entry: loads the compiled CLI (npm run build). In development, run the
// TypeScript directly instead: node --import tsx app/cli/main.ts ...
'use strict';
const path = require('node:path');
const fs = require('node:fs');

const compiled = path.join(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
if (!fs.existsSync(compiled)) {
  process.stderr.write(
    'ioamsim: error: the CLI is not built (missing dist/app/cli/main.js): run `npm run build`\n' +
      '  (in development: node --import tsx app/cli/main.ts ...)\n',
  );
  process.exit(4);
}
require(compiled).main();
