// The real reqstore and reqstore-sink binaries, started on free loopback ports for the node tests.
// Paths come from the environment ctest sets (tests/CMakeLists.txt), or default to the Release tree.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const sourceDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const buildDir = process.env.REQSTORE_BUILD_DIR ?? join(sourceDir, 'build');
export const reqstoreBinary = process.env.REQSTORE_BINARY ?? join(buildDir, 'bin/reqstore');
export const sinkBinary = process.env.REQSTORE_SINK_BINARY ?? join(buildDir, 'bin/reqstore-sink');

// A key of the test configuration: its secret is made up per run, its hash goes to the config.
export function makeKey(id, scopes, extra = {}) {
    const secret = randomBytes(18).toString('base64url');
    return {
        id,
        secret,
        authorization: `Bearer ${id}.${secret}`,
        entry: { id, secret_sha256: createHash('sha256').update(secret).digest('hex'), scopes, ...extra },
    };
}

export function signingSecret() {
    return `whsec_${randomBytes(24).toString('base64')}`;
}

// Starts `program args`, waits (bounded) for its `listening on HOST:PORT` line and answers the
// endpoint. The process's output goes to `logPath`, which a failing test prints.
async function startListening(program, args, logPath, deadlineMs = 20000) {
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const log = createWriteStream(logPath, { flags: 'a' });
    child.stderr.pipe(log);
    let exited = null;
    child.on('exit', (code, signal) => (exited = { code, signal }));
    const endpoint = await new Promise((resolveEndpoint, reject) => {
        let seen = '';
        const timer = setTimeout(() => {
            child.kill('SIGKILL');
            reject(new Error(`${program} printed no "listening on" line within ${deadlineMs} ms; see ${logPath}`));
        }, deadlineMs);
        child.stdout.on('data', (chunk) => {
            log.write(chunk);
            seen += chunk.toString();
            const match = /listening on (\S+):(\d+)/.exec(seen);
            if (match) {
                clearTimeout(timer);
                resolveEndpoint(`${match[1]}:${match[2]}`);
            }
        });
        child.on('exit', (code, signal) => {
            clearTimeout(timer);
            reject(new Error(`${program} exited (${code ?? signal}) before listening; see ${logPath}`));
        });
    });
    child.stdout.on('data', (chunk) => log.write(chunk));
    return {
        endpoint,
        logPath,
        // SIGTERM, then SIGKILL after the deadline; answers the exit status.
        async stop(deadlineMs = 15000) {
            if (exited) return exited;
            const done = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
            child.kill('SIGTERM');
            const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
            const status = await done;
            clearTimeout(timer);
            return status;
        },
    };
}

export function shippedConfig() {
    return JSON.parse(readFileSync(join(sourceDir, 'config/reqstore.json'), 'utf8'));
}

// reqstore on the shipped config (config/reqstore.json), with `overrides` merged over it member by
// member at the top level, a data and a backup directory of its own, and port 0.
export async function startReqstore(overrides = {}) {
    const root = mkdtempSync(join(tmpdir(), 'reqstore-node-'));
    const config = {
        ...shippedConfig(),
        listen: '127.0.0.1:0',
        data_dir: join(root, 'data'),
        backup: { dir: join(root, 'backups') },
        log: { access: false },
        ...overrides,
    };
    const configPath = join(root, 'config.json');
    writeFileSync(configPath, JSON.stringify(config, null, 2));
    const server = await startListening(reqstoreBinary, ['--config', configPath], join(root, 'reqstore.log'));
    return {
        ...server,
        root,
        base: `http://${server.endpoint}`,
        async stop() {
            const status = await server.stop();
            if (status.code === 0) rmSync(root, { recursive: true, force: true });
            return status;
        },
    };
}

// reqstore-sink accepting deliveries signed with any of `secrets`, keeping every accepted body
// (with its webhook headers) as one JSON line of `bodies.jsonl`; `args` are more of its options.
export async function startSink(secrets, { args: more = [], listen = '127.0.0.1:0' } = {}) {
    const root = mkdtempSync(join(tmpdir(), 'reqstore-sink-'));
    const bodiesPath = join(root, 'bodies.jsonl');
    const args = ['--listen', listen, '--bodies', bodiesPath];
    for (const secret of secrets) args.push('--secret', secret);
    args.push(...more);
    const sink = await startListening(sinkBinary, args, join(root, 'sink.log'));
    return {
        ...sink,
        root,
        base: `http://${sink.endpoint}`,
        received() {
            let text = '';
            try {
                text = readFileSync(bodiesPath, 'utf8');
            } catch {
                return [];
            }
            return text
                .split('\n')
                .filter((line) => line.length > 0)
                .map((line) => JSON.parse(line));
        },
        async stop() {
            const status = await sink.stop();
            if (status.code === 0) rmSync(root, { recursive: true, force: true });
            return status;
        },
    };
}

// Polls `probe` every 50 ms until it answers something truthy, for at most `deadlineMs`.
export async function eventually(probe, deadlineMs, what) {
    const until = Date.now() + deadlineMs;
    for (;;) {
        const value = await probe();
        if (value) return value;
        if (Date.now() > until) throw new Error(`${what}: not within ${deadlineMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
    }
}
