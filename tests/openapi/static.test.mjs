// docs/openapi.json on its own: Redocly's lint (redocly.yaml: the recommended rules, all errors)
// and validation against the official OpenAPI 3.1 schema.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Validator } from '@seriousme/openapi-schema-validator';
import { documentPath } from './lib/document.mjs';

const here = dirname(fileURLToPath(import.meta.url));

test('Redocly lint passes with every recommended rule an error', async () => {
    const redocly = join(here, 'node_modules/@redocly/cli/bin/cli.js');
    const answer = await promisify(execFile)(process.execPath, [redocly, 'lint', 'reqstore', '--format', 'stylish'], {
        cwd: here,
        timeout: 120000,
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    }).catch((failure) => failure);
    assert.equal(answer.code ?? 0, 0, `redocly lint failed:\n${answer.stdout}\n${answer.stderr}`);
});

test('the document validates against the OpenAPI 3.1 schema', async () => {
    const validator = new Validator();
    const result = await validator.validate(documentPath);
    assert.equal(validator.version, '3.1');
    assert.ok(result.valid, JSON.stringify(result.errors, null, 2));
});
