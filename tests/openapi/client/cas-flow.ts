// A client generated from docs/openapi.json (openapi-typescript + openapi-fetch) runs the
// compare-and-swap flow: create, update with If-Match, update again with the same, now stale,
// entity-tag, and read the 412's current_etag, typed. tests/openapi/client.test.mjs generates
// schema.d.ts, compiles this file with tsc (strict) and runs it against a live server.
import createClient from 'openapi-fetch';
import type { components, paths } from './schema.js';

// Node's globals, without a dependency on @types/node for two names.
declare const process: { env: Record<string, string | undefined>; exitCode?: number };

type Problem = components['schemas']['Problem'];
type RecordBody = components['schemas']['Record'];

const baseUrl = process.env.REQSTORE_URL;
const authorization = process.env.REQSTORE_AUTHORIZATION;
if (!baseUrl || !authorization) throw new Error('REQSTORE_URL and REQSTORE_AUTHORIZATION are required');

const client = createClient<paths>({ baseUrl, headers: { Authorization: authorization } });

const created = await client.POST('/v1/requests', { body: { type: 'request', title: 'typed client' } });
if (!created.data) throw new Error(`create answered ${created.response.status}`);
const record: RecordBody = created.data;
const firstTag = created.response.headers.get('ETag') ?? '';

const updated = await client.PATCH('/v1/requests/{id}', {
    params: { path: { id: record.id }, header: { 'If-Match': firstTag } },
    body: { title: 'first update' },
});
if (!updated.data) throw new Error(`the update answered ${updated.response.status}`);

const stale = await client.PATCH('/v1/requests/{id}', {
    params: { path: { id: record.id }, header: { 'If-Match': firstTag } },
    body: { title: 'stale update' },
});
const problem: Problem | undefined = stale.error;

// The generated types are real: each of these misuses must fail to compile, and a directive left
// unused (the types had become `any`) fails the compilation too.
if (false as boolean) {
    // @ts-expect-error the path parameter is required
    await client.GET('/v1/requests/{id}', { params: { path: {} } });
    // @ts-expect-error no such route
    await client.GET('/v1/no-such-route');
    // @ts-expect-error a record's version is a number
    const version: string = updated.data.version;
    void version;
}

console.log(
    JSON.stringify({
        id: record.id,
        created_status: created.response.status,
        first_etag: firstTag,
        updated_status: updated.response.status,
        updated_version: updated.data.version,
        updated_etag: updated.response.headers.get('ETag'),
        stale_status: stale.response.status,
        stale_type: problem?.type,
        current_etag: problem?.current_etag,
    }),
);
