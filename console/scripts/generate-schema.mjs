// Writes src/api/schema.d.ts from docs/openapi.json, so that a change of the document the console
// does not follow fails `tsc`. The file is committed; scripts/check-fresh.mjs holds it to this.
import { writeFileSync } from 'node:fs';
import { schemaFile, schemaText } from './schema.mjs';

writeFileSync(schemaFile, await schemaText());
