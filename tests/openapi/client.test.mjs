// The typed client: generated from docs/openapi.json with openapi-typescript, compiled with tsc
// (strict) together with client/cas-flow.ts, which uses it through openapi-fetch, and run against
// the live server: create -> update with If-Match -> the same If-Match again -> 412 with the
// current entity-tag.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import openapiTS, { astToString } from 'openapi-typescript';
import { documentPath } from './lib/document.mjs';
import { makeKey, startReqstore } from './lib/processes.mjs';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const generated = join(here, '.generated');
const key = makeKey('typed-client', ['requests:read', 'requests:write']);
let server;

before(async () => {
    server = await startReqstore({ auth: { keys: [key.entry] } });
});

after(async () => {
    const status = await server?.stop();
    if (status) assert.equal(status.code, 0);
});

test('the generated client compiles, and its misuses do not', async () => {
    rmSync(generated, { recursive: true, force: true });
    mkdirSync(generated, { recursive: true });
    const ast = await openapiTS(pathToFileURL(documentPath));
    writeFileSync(join(here, 'client/schema.d.ts'), astToString(ast));
    const tsc = join(here, 'node_modules/typescript/bin/tsc');
    await run(process.execPath, [tsc, '-p', join(here, 'client/tsconfig.json')], { timeout: 120000 });
});

test('the generated client runs create, CAS update, stale update, 412', async () => {
    const { stdout } = await run(process.execPath, [join(generated, 'client/cas-flow.js')], {
        timeout: 30000,
        env: { ...process.env, REQSTORE_URL: server.base, REQSTORE_AUTHORIZATION: key.authorization },
    });
    const flow = JSON.parse(stdout);
    assert.equal(flow.created_status, 201);
    assert.equal(flow.first_etag, '"1"');
    assert.equal(flow.updated_status, 200);
    assert.equal(flow.updated_version, 2);
    assert.equal(flow.updated_etag, '"2"');
    assert.equal(flow.stale_status, 412);
    assert.match(flow.stale_type, /precondition-failed/);
    assert.equal(flow.current_etag, '"2"');
});
