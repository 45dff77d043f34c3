// docs/openapi.json held to the live server: every operation driven on the real binary (loopback,
// port 0), with its documented error statuses, every answer judged against the document (status,
// Content-Type, body under JSON Schema 2020-12, required headers), and the webhook and callback
// bodies reqstore-sink receives judged against the document's `webhooks`. The last test prints the
// operation x status table and fails when an operation went unexercised.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Document } from './lib/document.mjs';
import { eventually, makeKey, shippedConfig, signingSecret, startReqstore, startSink } from './lib/processes.mjs';

const doc = new Document();
const keys = {
    admin: makeKey('conformance-admin', ['admin']),
    reader: makeKey('conformance-reader', ['requests:read']),
    // One token, refilled after 100 s: every call after its first is 429 for the rest of the run.
    limited: makeKey('conformance-limited', ['admin'], { rate_limit: { per_second: 0.01, burst: 1 } }),
    // A subject's key has no scope: every /v1 route but whoami is 403 to it.
    subject: makeKey('conformance-subject', [], { subject: 'subject-conformance' }),
};
const maxBodyBytes = 16384;
const callbackSecret = signingSecret();
const subscriptionSecret = signingSecret();
let server;
let sink;
let subscription; // to the sink, for every event, from the start: it sees every record's life
let gone; // a second sink that answers every delivery 410: the subscription to it is disabled

before(async () => {
    sink = await startSink([callbackSecret, subscriptionSecret]);
    gone = await startSink([subscriptionSecret], { args: ['--status', '410'] });
    const { types } = shippedConfig();
    server = await startReqstore({
        limits: { max_body_bytes: maxBodyBytes },
        webhooks: {
            retry_schedule: [0.2],
            timeout: 2,
            allow_networks: ['127.0.0.0/8'],
            callback_secret: callbackSecret,
            secrets_key: 'Y29uZm9ybWFuY2UtdGVzdC1zZWNyZXRzLWtleS0zMmI=',
        },
        auth: { keys: Object.values(keys).map((k) => k.entry) },
        types: {
            ...types,
            strict_request: { ...types.request, id_prefix: 'str_', require_if_match: true },
        },
    });
    const created = await call('createWebhook', {
        body: { url: `${sink.base}/subscription`, events: ['*'], secret: subscriptionSecret },
        expect: 201,
    });
    subscription = created.json;
    assert.equal(subscription.secret, subscriptionSecret);
});

after(async () => {
    const statuses = await Promise.all([server?.stop(), sink?.stop(), gone?.stop()]);
    for (const status of statuses) if (status) assert.equal(status.code, 0, 'a process did not exit cleanly');
});

// Calls an operation of the document and judges the answer. `expect` is the status the scenario
// provokes; the judgement's problems fail the test with the operation and status named.
async function call(operationId, { params = {}, query, headers = {}, body, key = 'admin', expect, stream } = {}) {
    const { method } = doc.operation(operationId);
    let url = server.base + doc.pathOf(operationId, params);
    if (query) url += `?${new URLSearchParams(query)}`;
    const sent = { ...headers };
    if (key && keys[key]) sent.authorization = keys[key].authorization;
    let payload = body;
    if (body !== undefined) {
        // A string is sent as it is (malformed JSON on purpose), as JSON unless the test says else.
        if (typeof body !== 'string') payload = JSON.stringify(body);
        sent['content-type'] ??= 'application/json';
    }
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 10000);
    let answer;
    let bodyText = '';
    try {
        answer = await fetch(url, { method, headers: sent, body: payload, signal: controller.signal });
        if (stream && answer.status === 200) {
            // The stream never ends by itself: its first frame is enough to judge.
            const reader = answer.body.getReader();
            const first = await reader.read();
            bodyText = new TextDecoder().decode(first.value ?? new Uint8Array());
            await reader.cancel();
        } else {
            bodyText = await answer.text();
        }
    } finally {
        clearTimeout(timer);
    }
    const problems = doc.judge(operationId, { status: answer.status, headers: answer.headers, bodyText });
    assert.deepEqual(problems, [], `${method} ${url} answered ${answer.status}: ${bodyText.slice(0, 300)}`);
    if (expect !== undefined)
        assert.equal(answer.status, expect, `${operationId}: ${bodyText.slice(0, 300)}`);
    let json;
    if (/json/.test(answer.headers.get('content-type') ?? '') && bodyText) json = JSON.parse(bodyText);
    return { status: answer.status, headers: answer.headers, json, bodyText };
}

const v1Operations = [...doc.operations.entries()].filter(([, { path }]) => path.startsWith('/v1/'));
// Ids of the right form that name nothing: `req_` and 16 to 26 Crockford base32 characters.
const missingId = 'req_00000000000000000000';
const placeholders = { id: missingId, n: 1, wid: 'whk_missing', did: 'dlv_1' };

describe('every /v1 operation', () => {
    test('answers 401 without a key, with WWW-Authenticate', async () => {
        for (const [operationId] of v1Operations) {
            const answer = await call(operationId, { params: placeholders, key: null, expect: 401 });
            assert.match(answer.headers.get('www-authenticate') ?? '', /Basic|Bearer/, operationId);
        }
    });

    test("answers 403 to a key without the route's scope", async () => {
        for (const [operationId] of v1Operations) {
            const answer = await call(operationId, { params: placeholders, key: 'subject' });
            if (operationId === 'whoami') assert.equal(answer.status, 200);
            else assert.equal(answer.status, 403, operationId);
        }
    });

    test('answers 429 with Retry-After and RateLimit once the key used its rate', async () => {
        await call('whoami', { key: 'limited', expect: 200 });
        for (const [operationId] of v1Operations) {
            const answer = await call(operationId, { params: placeholders, key: 'limited', expect: 429 });
            assert.ok(answer.headers.get('retry-after'), `${operationId}: Retry-After`);
            assert.ok(answer.headers.get('ratelimit'), `${operationId}: RateLimit`);
        }
    });
});

describe('public operations', () => {
    test('health, readiness, metrics and the document itself', async () => {
        await call('getHealth', { key: null, expect: 200 });
        await call('getReadiness', { key: null, expect: 200 });
        const metrics = await call('getMetrics', { key: null, expect: 200 });
        assert.match(metrics.bodyText, /^# (HELP|TYPE) reqstore_/m);
        const served = await call('getOpenApi', { key: null, expect: 200 });
        assert.equal(served.bodyText, doc.text, 'GET /openapi.json is docs/openapi.json byte for byte');
    });
});

describe('records', () => {
    let record; // created with a callback to the sink, then updated, moved and deleted
    const callbackUrl = () => `${sink.base}/callbacks`;

    test('create: 201 and its errors', async () => {
        const created = await call('createRequest', {
            body: { type: 'request', title: 'conformance', callback_url: callbackUrl() },
            headers: { 'idempotency-key': 'conformance-create-1' },
            expect: 201,
        });
        record = created.json;
        assert.equal(created.headers.get('etag'), '"1"');
        assert.equal(created.headers.get('location'), `/v1/requests/${record.id}`);
        const replayed = await call('createRequest', {
            body: { type: 'request', title: 'conformance', callback_url: callbackUrl() },
            headers: { 'idempotency-key': 'conformance-create-1' },
            expect: 201,
        });
        assert.equal(replayed.json.id, record.id);
        await call('createRequest', {
            body: { type: 'request', title: 'another body' },
            headers: { 'idempotency-key': 'conformance-create-1' },
            expect: 422,
        });
        await call('createRequest', { body: '{"type":', expect: 400 });
        await call('createRequest', { body: { type: 'docspring_data_request' }, expect: 400 });
        await call('createRequest', { body: { type: 'request' }, headers: { 'content-type': 'text/plain' }, expect: 415 });
        await call('createRequest', { body: { type: 'request', filler: 'x'.repeat(maxBodyBytes) }, expect: 413 });
    });

    test('read: 200, 304, 412, 404, 400', async () => {
        const read = await call('getRequest', { params: { id: record.id }, expect: 200 });
        assert.equal(read.headers.get('etag'), '"1"');
        await call('getRequest', { params: { id: record.id }, headers: { 'if-none-match': '"1"' }, expect: 304 });
        await call('getRequest', { params: { id: record.id }, headers: { 'if-match': '"7"' }, expect: 412 });
        await call('getRequest', { params: { id: missingId }, expect: 404 });
        await call('getRequest', { params: { id: 'not-an-id' }, expect: 400 });
    });

    test('PUT: 200, 201, 204 and its errors', async () => {
        const put = await call('putRequest', {
            params: { id: record.id },
            headers: { 'if-match': '"1"' },
            body: { title: 'put' },
            expect: 200,
        });
        assert.equal(put.headers.get('etag'), '"2"');
        await call('putRequest', {
            params: { id: record.id },
            headers: { 'if-match': '"2"', prefer: 'return=minimal' },
            body: { title: 'put, minimal' },
            expect: 204,
        });
        await call('putRequest', {
            params: { id: 'req_00000000000000000000C0NF' },
            headers: { 'if-none-match': '*' },
            body: { type: 'request', title: 'created by PUT' },
            expect: 201,
        });
        await call('putRequest', { params: { id: missingId }, body: { title: 'x' }, expect: 404 });
        await call('putRequest', { params: { id: record.id }, headers: { 'if-match': '"1"' }, body: { title: 'x' }, expect: 412 });
        await call('putRequest', { params: { id: record.id }, body: '[1,', expect: 400 });
        await call('putRequest', { params: { id: record.id }, body: { title: 'x' }, headers: { 'content-type': 'text/plain' }, expect: 415 });
        await call('putRequest', { params: { id: record.id }, body: { filler: 'x'.repeat(maxBodyBytes) }, expect: 413 });
        const strict = await call('createRequest', { body: { type: 'strict_request' }, expect: 201 });
        await call('putRequest', { params: { id: strict.json.id }, body: { title: 'x' }, expect: 428 });
        const completed = await call('createRequest', { body: { type: 'request', status: 'completed' }, expect: 201 });
        await call('putRequest', { params: { id: completed.json.id }, body: { status: 'active' }, expect: 409 });
        const docspring = await call('createRequest', { body: { type: 'docspring_data_request', email: 'a@example.org' }, expect: 201 });
        await call('putRequest', { params: { id: docspring.json.id }, body: { status: 'completed' }, expect: 422 });
    });

    test('PATCH: merge patch and JSON Patch, 200, 204 and their errors', async () => {
        const merged = await call('patchRequest', {
            params: { id: record.id },
            headers: { 'if-match': '"3"', 'content-type': 'application/merge-patch+json' },
            body: { note: 'merged', status: 'active' },
            expect: 200,
        });
        assert.equal(merged.json.status, 'active');
        await call('patchRequest', {
            params: { id: record.id },
            headers: { 'if-match': '"4"', 'content-type': 'application/json-patch+json', prefer: 'return=minimal' },
            body: [{ op: 'replace', path: '/note', value: 'patched' }],
            expect: 204,
        });
        await call('patchRequest', {
            params: { id: record.id },
            headers: { 'content-type': 'application/json-patch+json' },
            body: [{ op: 'test', path: '/note', value: 'not this' }],
            expect: 409,
        });
        await call('patchRequest', {
            params: { id: record.id },
            headers: { 'content-type': 'application/json-patch+json' },
            body: [{ op: 'remove', path: '/no/such/member' }],
            expect: 422,
        });
        await call('patchRequest', {
            params: { id: record.id },
            headers: { 'content-type': 'application/json-patch+json' },
            body: { op: 'not a list' },
            expect: 400,
        });
        await call('patchRequest', { params: { id: record.id }, headers: { 'if-match': '"1"' }, body: { a: 1 }, expect: 412 });
        await call('patchRequest', { params: { id: missingId }, body: { a: 1 }, expect: 404 });
        await call('patchRequest', { params: { id: record.id }, body: { a: 1 }, headers: { 'content-type': 'text/csv' }, expect: 415 });
        await call('patchRequest', { params: { id: record.id }, body: { filler: 'x'.repeat(maxBodyBytes) }, expect: 413 });
        const strict = await call('createRequest', { body: { type: 'strict_request' }, expect: 201 });
        await call('patchRequest', { params: { id: strict.json.id }, body: { a: 1 }, expect: 428 });
    });

    test('history: versions and one version, 200, 400, 404', async () => {
        const versions = await call('listRequestVersions', { params: { id: record.id }, query: { limit: 2 }, expect: 200 });
        assert.equal(versions.json.data.length, 2);
        assert.ok(versions.json.next_cursor);
        await call('listRequestVersions', { params: { id: record.id }, query: { cursor: versions.json.next_cursor }, expect: 200 });
        await call('listRequestVersions', { params: { id: record.id }, query: { limit: 0 }, expect: 400 });
        await call('listRequestVersions', { params: { id: missingId }, expect: 404 });
        const first = await call('getRequestVersion', { params: { id: record.id, n: 1 }, expect: 200 });
        assert.equal(first.json.version, 1);
        await call('getRequestVersion', { params: { id: record.id, n: 99 }, expect: 404 });
        await call('getRequestVersion', { params: { id: record.id, n: 'first' }, expect: 400 });
    });

    test('list: filters and cursor, 200 and 400', async () => {
        const page = await call('listRequests', { query: { type: 'request', limit: 1 }, expect: 200 });
        assert.equal(page.json.data.length, 1);
        await call('listRequests', { query: { status: 'active', updated_since: '2020-01-01T00:00:00Z' }, expect: 200 });
        await call('listRequests', { query: { type: 'request', limit: 1, cursor: page.json.next_cursor }, expect: 200 });
        await call('listRequests', { query: { colour: 'blue' }, expect: 400 });
        await call('listRequests', { key: 'reader', expect: 200 });
    });

    test('delete: 204, then 410 for the record, 404, 412, 428', async () => {
        await call('deleteRequest', { params: { id: record.id }, headers: { 'if-match': '"1"' }, expect: 412 });
        await call('deleteRequest', { params: { id: record.id }, headers: { 'if-match': '"5"' }, expect: 204 });
        await call('deleteRequest', { params: { id: record.id }, expect: 410 });
        await call('getRequest', { params: { id: record.id }, expect: 410 });
        await call('putRequest', { params: { id: record.id }, body: { title: 'x' }, expect: 410 });
        await call('patchRequest', { params: { id: record.id }, body: { title: 'x' }, expect: 410 });
        await call('deleteRequest', { params: { id: missingId }, expect: 404 });
        const strict = await call('createRequest', { body: { type: 'strict_request' }, expect: 201 });
        await call('deleteRequest', { params: { id: strict.json.id }, expect: 428 });
    });
});

describe('change feed', () => {
    test('events: 200, long-poll, 400', async () => {
        const page = await call('listEvents', { query: { after: 0, limit: 5 }, expect: 200 });
        assert.equal(page.json.data.length, 5);
        await call('listEvents', { query: { after: page.json.next_after, wait: 0 }, expect: 200 });
        await call('listEvents', { query: { after: -1 }, expect: 400 });
    });

    test('stream: text/event-stream, resumable, 400', async () => {
        const stream = await call('streamEvents', { query: { after: 0 }, stream: true, expect: 200 });
        assert.match(stream.bodyText, /^(id|event|data|:)/m);
        await call('streamEvents', { headers: { 'last-event-id': '1' }, stream: true, expect: 200 });
        await call('streamEvents', { query: { after: 'soon' }, expect: 400 });
    });
});

describe('webhooks', () => {
    let failing;

    test('subscriptions: create (before the records), list, read, update, and their errors', async () => {
        await call('createWebhook', { body: { url: 'not a url', events: ['*'] }, expect: 400 });
        await call('createWebhook', { body: { url: `${sink.base}/x`, events: ['*'] }, headers: { 'content-type': 'text/plain' }, expect: 415 });
        const listed = await call('listWebhooks', { expect: 200 });
        assert.ok(listed.json.data.some((s) => s.id === subscription.id));
        const read = await call('getWebhook', { params: { wid: subscription.id }, expect: 200 });
        assert.equal(read.json.secret, undefined, 'the secret is shown once');
        await call('getWebhook', { params: { wid: 'whk_missing' }, expect: 404 });
        await call('updateWebhook', { params: { wid: subscription.id }, body: { events: ['*'] }, expect: 200 });
        await call('updateWebhook', { params: { wid: subscription.id }, body: { enabled: 'yes' }, expect: 400 });
        await call('updateWebhook', { params: { wid: 'whk_missing' }, body: { enabled: true }, expect: 404 });
        await call('updateWebhook', { params: { wid: subscription.id }, body: { enabled: true }, headers: { 'content-type': 'text/plain' }, expect: 415 });
    });

    test('deliveries: a dead one retried, recover, and their errors', async () => {
        // A target nothing listens on: every attempt fails, and after the one retry it is dead.
        const closed = await call('createWebhook', { body: { url: 'http://127.0.0.1:9/closed', events: ['request.created'] }, expect: 201 });
        failing = closed.json;
        await call('createRequest', { body: { type: 'request', title: 'for the dead letter' }, expect: 201 });
        const dead = await eventually(
            async () => {
                const page = await call('listWebhookDeliveries', { params: { wid: failing.id }, query: { status: 'dead' }, expect: 200 });
                return page.json.data[0];
            },
            15000,
            'a delivery to a closed port goes dead',
        );
        assert.ok(dead.attempts.length >= 2);
        await call('retryDelivery', { params: { did: dead.id }, expect: 202 });
        await call('retryDelivery', { params: { did: 'dlv_999999999' }, expect: 404 });
        await call('retryDelivery', { params: { did: 'not-a-delivery' }, expect: 400 });
        await call('listWebhookDeliveries', { params: { wid: failing.id }, query: { status: 'lost' }, expect: 400 });
        await call('listWebhookDeliveries', { params: { wid: 'whk_missing' }, expect: 404 });
        const recovered = await call('recoverWebhook', { params: { wid: failing.id }, body: { since: '2020-01-01T00:00:00Z' }, expect: 202 });
        assert.equal(typeof recovered.json.queued, 'number');
        await call('recoverWebhook', { params: { wid: failing.id }, body: { since: 'yesterday' }, expect: 400 });
        await call('recoverWebhook', { params: { wid: 'whk_missing' }, body: { since: '2020-01-01T00:00:00Z' }, expect: 404 });
        await call('recoverWebhook', { params: { wid: failing.id }, body: { since: '2020-01-01T00:00:00Z' }, headers: { 'content-type': 'text/plain' }, expect: 415 });
    });

    test('a target answering 410 disables its subscription, announced to the others', async () => {
        const doomed = await call('createWebhook', {
            body: { url: `${gone.base}/gone`, events: ['request.created'], secret: subscriptionSecret },
            expect: 201,
        });
        await call('createRequest', { body: { type: 'request', title: 'to a gone target' }, expect: 201 });
        await eventually(
            async () => (await call('getWebhook', { params: { wid: doomed.json.id }, expect: 200 })).json.enabled === false,
            15000,
            'the subscription to a 410 target is disabled',
        );
    });

    test('every body reqstore-sink received is a documented webhook payload', async () => {
        const wanted = ['request.created', 'request.updated', 'request.status_changed', 'request.deleted', 'webhook.disabled'];
        const received = await eventually(
            () => {
                const all = sink.received();
                const seen = new Set(all.filter((d) => d.path === '/subscription').map((d) => d.body.type));
                const callbacks = all.filter((d) => d.path === '/callbacks');
                return wanted.every((event) => seen.has(event)) && callbacks.length > 0 ? all : null;
            },
            15000,
            `the subscription receives each of ${wanted.join(', ')} and the record's callback fires`,
        );
        for (const delivery of received) {
            const problems = doc.judgeWebhook(delivery.body.type, delivery.headers, delivery.body);
            assert.deepEqual(problems, [], `${delivery.path}: ${JSON.stringify(delivery.body).slice(0, 300)}`);
        }
        const callbacks = received.filter((d) => d.path === '/callbacks');
        assert.ok(callbacks.every((d) => d.body.type === 'request.status_changed'), 'callbacks carry status changes only');
    });

    test('delete: 204 and 404', async () => {
        await call('deleteWebhook', { params: { wid: failing.id }, expect: 204 });
        await call('deleteWebhook', { params: { wid: failing.id }, expect: 404 });
    });
});

describe('introspection and administration', () => {
    test('whoami, types, backups', async () => {
        const me = await call('whoami', { key: 'reader', expect: 200 });
        assert.equal(me.json.id, 'conformance-reader');
        assert.deepEqual(me.json.scopes, ['requests:read']);
        const types = await call('listTypes', { key: 'reader', expect: 200 });
        assert.ok(types.json.data.some((t) => t.name === 'strict_request' && t.require_if_match === true));
        await call('createBackup', { expect: 201 });
        const backups = await call('listBackups', { expect: 200 });
        assert.equal(backups.json.data.length, 1);
    });
});

test('operation x status coverage: no operation went unexercised', () => {
    const { text, unexercised } = doc.coverageTable();
    console.log(`operation x status (code:times seen, - never seen)\n${text}`);
    assert.deepEqual(unexercised, [], 'operations the conformance run never called');
});
