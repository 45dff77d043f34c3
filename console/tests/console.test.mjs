// The console in a real browser: Debian's Chromium, headless, driven by playwright-core against the
// real server on loopback (its shipped config, port 0), with reqstore-sink as the webhook receiver.
// Each case is a step a user takes; they run in order on one page. Screenshots go to
// $REQSTORE_CONSOLE_SHOTS (build/console-shots), and docs/CONSOLE.md shows them.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { eventually, makeKey, startReqstore, startSink } from '../../tests/openapi/lib/processes.mjs';

const chromiumPath = process.env.REQSTORE_CHROMIUM ?? '/usr/bin/chromium';
const shots = process.env.REQSTORE_CONSOLE_SHOTS ?? join(process.cwd(), 'console-shots');
const admin = makeKey('console-admin', ['admin']);
const secretOf = (key) => `${key.id}.${key.secret}`;

let server;
let browser;
let page;
let sink;
const violations = [];
const pageErrors = [];

// A free loopback port, closed again: the webhook target of the delivery test listens on it only
// once its first attempts have failed.
async function freePort() {
    const probe = createServer();
    await new Promise((r) => probe.listen(0, '127.0.0.1', r));
    const { port } = probe.address();
    await new Promise((r) => probe.close(r));
    return port;
}

// The native API, as a second writer behind the page.
async function api(method, path, body, headers = {}) {
    const answer = await fetch(server.base + path, {
        method,
        headers: { authorization: admin.authorization, 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await answer.text();
    return { status: answer.status, json: text ? JSON.parse(text) : undefined, headers: answer.headers };
}

async function shoot(name) {
    await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

before(async () => {
    mkdirSync(shots, { recursive: true });
    server = await startReqstore({
        webhooks: {
            retry_schedule: [0.2],
            timeout: 2,
            allow_networks: ['127.0.0.0/8'],
            callback_secret: 'whsec_Y29uc29sZS10ZXN0LWNhbGxiYWNrLXNlY3JldA==',
            secrets_key: 'Y29uc29sZS10ZXN0LXNlY3JldHMta2V5LTMyIGJ5dGU=',
        },
        auth: { keys: [admin.entry] },
    });
    browser = await chromium.launch({
        executablePath: chromiumPath,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: 'light' });
    await context.exposeBinding('reportViolation', (_, violation) => violations.push(violation));
    await context.addInitScript(() => {
        document.addEventListener('securitypolicyviolation', (e) =>
            window.reportViolation({ directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample }),
        );
    });
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.setDefaultTimeout(10000);
});

after(async () => {
    await browser?.close();
    await sink?.stop();
    const status = await server?.stop();
    if (status) assert.equal(status.code, 0, 'the server did not exit cleanly');
});

test('the page is served with a strict CSP, and its assets are immutable', async () => {
    const answer = await page.goto(`${server.base}/console/`);
    assert.equal(answer.status(), 200);
    const headers = answer.headers();
    assert.match(headers['content-security-policy'], /script-src 'self'/);
    assert.doesNotMatch(headers['content-security-policy'], /unsafe-inline|unsafe-eval/);
    assert.equal(headers['x-content-type-options'], 'nosniff');
    assert.equal(headers['cache-control'], 'no-cache');
    const script = await page.locator('script[type=module]').getAttribute('src');
    const asset = await fetch(server.base + script);
    assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.match(asset.headers.get('content-type'), /^text\/javascript/);
});

test('sign in with the keyboard alone; the scopes decide the navigation', async () => {
    await page.keyboard.type(secretOf(admin)); // the key field has the focus
    await page.keyboard.press('Enter');
    await page.getByTestId('who').waitFor();
    assert.match(await page.getByTestId('who').textContent(), /console-admin · admin/);
    for (const name of ['Requests', 'Live feed', 'Webhooks', 'Health'])
        assert.ok(await page.getByRole('link', { name, exact: true }).isVisible(), name);
    assert.equal(await page.evaluate(() => localStorage.length), 0);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'not remembered unless asked');
});

test('the list filters by type and status, and counts new records live', async () => {
    for (const status of ['pending', 'active', 'active'])
        assert.equal((await api('POST', '/v1/requests', { type: 'request', status, title: `listed ${status}` })).status, 201);
    await api('POST', '/v1/requests', { type: 'docspring_data_request', email: 'ann@example.org' });
    await page.reload(); // sign-in again: the key was in memory only
    await page.getByLabel('API key').fill(secretOf(admin));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('requests').locator('tbody tr').first().waitFor();
    await page.locator('select[name=type]').selectOption('request');
    await page.locator('select[name=status]').selectOption('active');
    await page.getByRole('button', { name: 'Apply' }).click();
    await eventually(async () => (await page.getByTestId('requests').locator('tbody tr').count()) === 2, 5000, 'two active requests');
    const statuses = await page.getByTestId('requests').locator('tbody tr td:nth-child(3)').allTextContents();
    assert.deepEqual(statuses, ['active', 'active']);
    await api('POST', '/v1/requests', { type: 'request', status: 'active', title: 'arrives later' });
    await page.getByTestId('new-badge').waitFor({ timeout: 5000 });
    assert.match(await page.getByTestId('new-badge').textContent(), /^1 new/);
    await shoot('requests');
    await page.getByTestId('new-badge').click();
    await eventually(async () => (await page.getByTestId('requests').locator('tbody tr').count()) === 3, 5000, 'the new one listed');
});

let record;

// Replaces the editor's text with `members` (JSON) and saves.
async function editAndSave(members) {
    await page.locator('textarea[name=record]').fill(JSON.stringify(members, null, 2));
    await page.getByRole('button', { name: 'Save', exact: true }).click();
}

test('an edit saves with If-Match and moves the ETag', async () => {
    record = (await api('POST', '/v1/requests', { type: 'request', title: 'first', note: 'kept' })).json;
    await page.goto(`${server.base}/console/#/requests/${record.id}`);
    await page.getByTestId('etag').waitFor();
    assert.equal(await page.getByTestId('etag').textContent(), '"1"');
    await editAndSave({ status: 'pending', title: 'second', note: 'kept', metadata: {}, callback_url: null });
    await eventually(async () => (await page.getByTestId('etag').textContent()) === '"2"', 5000, 'the ETag moves to "2"');
    assert.equal((await api('GET', `/v1/requests/${record.id}`)).json.title, 'second');
});

test('a conflicting write behind the page: 412, the merge, saved; both versions in the history', async () => {
    const theirs = await api('PATCH', `/v1/requests/${record.id}`, { title: 'theirs', owner_note: 'from the API' }, { 'if-match': '"2"' });
    assert.equal(theirs.status, 200);
    await page.getByTestId('changed-behind').waitFor({ timeout: 5000 });
    await editAndSave({ status: 'active', title: 'mine', note: 'kept', metadata: {}, callback_url: null });
    await page.getByTestId('merge').waitFor();
    assert.match(await page.getByTestId('merge').textContent(), /412: version 3 was written/);
    const conflict = page.getByTestId('conflict-title');
    assert.match(await conflict.textContent(), /"second".*"theirs".*"mine"/s);
    await shoot('merge');
    await conflict.getByRole('button', { name: 'Use mine' }).click();
    await page.getByRole('button', { name: /Save merge/ }).click();
    await eventually(async () => (await page.getByTestId('etag').textContent()) === '"4"', 5000, 'the merge saved as version 4');
    const saved = (await api('GET', `/v1/requests/${record.id}`)).json;
    assert.equal(saved.title, 'mine', 'the picked side');
    assert.equal(saved.owner_note, 'from the API', 'their member kept');
    assert.equal(saved.status, 'active', 'my status change kept');
    // The history reads itself again once the new version is shown.
    const rows = page.getByTestId('history').locator('tbody tr');
    await eventually(async () => (await rows.count()) === 4, 5000, 'the history lists the four versions');
    const versions = await rows.evaluateAll((all) => all.map((r) => r.dataset.version));
    assert.deepEqual(versions, ['4', '3', '2', '1']);
});

test('a diff between two versions, and restore one', async () => {
    const history = page.getByTestId('history');
    await history.getByLabel('Compare version 1').check();
    await history.getByLabel('Compare version 4').check();
    const diff = page.getByTestId('diff');
    await diff.waitFor();
    const text = await diff.textContent();
    assert.match(text, /- +"title": "first"/);
    assert.match(text, /\+ +"title": "mine"/);
    await shoot('history');
    await history.getByRole('button', { name: 'Restore version 1' }).click();
    await eventually(async () => (await page.getByTestId('etag').textContent()) === '"5"', 5000, 'restored as version 5');
    const restored = (await api('GET', `/v1/requests/${record.id}`)).json;
    assert.equal(restored.title, 'first');
    assert.equal(restored.owner_note, undefined, 'a member version 1 did not have is removed');
    assert.equal(restored.status, 'pending');
});

test('a failing delivery goes dead; Retry delivers it to reqstore-sink', async () => {
    const port = await freePort();
    await page.getByRole('link', { name: 'Webhooks', exact: true }).click();
    await page.getByLabel('URL').fill(`http://127.0.0.1:${port}/hook`);
    await page.getByLabel('Events').fill('request.created');
    await page.getByRole('button', { name: 'Subscribe' }).click();
    const secret = (await page.getByTestId('secret').locator('code').textContent()).trim();
    assert.match(secret, /^whsec_/);
    await shoot('webhooks');
    await page.getByRole('button', { name: 'Done' }).click();
    assert.equal(await page.getByTestId('secret').count(), 0, 'the secret is gone once dismissed');
    const subscription = (await api('GET', '/v1/webhooks')).json.data.find((s) => s.url.endsWith(`:${port}/hook`));
    const target = (await api('POST', '/v1/requests', { type: 'request', title: 'to a target that is down' })).json;

    await page.getByRole('link', { name: subscription.id }).click();
    const deliveries = page.getByTestId('deliveries');
    await eventually(
        async () => {
            await page.getByRole('button', { name: 'Refresh' }).click();
            return (await deliveries.locator('li.card').count()) > 0;
        },
        15000,
        'the delivery is dead after its retry',
    );
    assert.match(await deliveries.textContent(), new RegExp(`${target.id}.*dead|dead.*${target.id}`, 's'));
    await shoot('deliveries');

    // The target comes up, with the secret the page showed: only a delivery signed with it counts.
    sink = await startSink([secret], { listen: `127.0.0.1:${port}` });
    await deliveries.getByRole('button', { name: 'Retry' }).first().click();
    await eventually(() => sink.received().some((d) => d.body.data?.id === target.id), 10000, 'the sink receives the retried delivery');
    await page.getByRole('tab', { name: 'succeeded' }).click();
    await eventually(async () => (await deliveries.locator('li.card').count()) === 1, 5000, 'listed as succeeded');
});

test('a write appears in the live feed within 2 s', async () => {
    await page.getByRole('link', { name: 'Live feed', exact: true }).click();
    await eventually(async () => (await page.getByTestId('feed-state').textContent()) === 'open', 5000, 'the stream is open');
    const started = Date.now();
    const fresh = (await api('POST', '/v1/requests', { type: 'request', title: 'live' })).json;
    await page.getByTestId('feed').getByRole('link', { name: fresh.id }).waitFor({ timeout: 2000 });
    assert.ok(Date.now() - started < 2000);
    await shoot('feed');
});

test('the health page charts the metrics', async () => {
    await page.getByRole('link', { name: 'Health', exact: true }).click();
    await eventually(async () => (await page.getByTestId('probe-readyz').textContent()) === 'readyz: 200', 5000, 'readyz badge');
    assert.equal(await page.getByTestId('probe-healthz').textContent(), 'healthz: 200');
    assert.equal(await page.getByTestId('chart').count(), 6);
    // Two scrapes a second apart give the first point: the page's own calls make the rate above 0.
    const rate = await eventually(
        async () => /^([0-9.]+) requests\/s now/.exec(await page.getByTestId('request-rate').textContent()),
        8000,
        'a rate computed from two scrapes',
    );
    assert.ok(Number(rate[1]) > 0, rate[0]);
    await eventually(async () => /\(2 points\)/.test(await page.getByTestId('request-rate').textContent()), 5000, 'two points');
    const sizes = await page.locator('[data-testid=chart] canvas').evaluateAll((canvases) => canvases.map((c) => c.width * c.height));
    assert.equal(sizes.length, 6);
    assert.ok(sizes.every((s) => s > 0));
    await shoot('health');
    await page.emulateMedia({ colorScheme: 'dark' });
    await shoot('health-dark');
    await page.emulateMedia({ colorScheme: 'light' });
});

test('no CSP violation, no page error, nothing in localStorage or cookies', async () => {
    assert.deepEqual(violations, []);
    assert.deepEqual(pageErrors, []);
    assert.equal(await page.evaluate(() => localStorage.length), 0);
    assert.deepEqual(await page.context().cookies(), []);
});
