// The committed build is what the sources build to: src/api/schema.d.ts is what docs/openapi.json
// generates, the sources type-check, and a fresh `vite build` (into a temporary folder, the tree
// untouched) gives console/dist byte for byte. The C++ build embeds console/dist, so a console
// change that was not rebuilt and committed would ship stale. Exit 0: fresh; 1: not.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { schemaFile, schemaText } from './schema.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const problems = [];

if (readFileSync(schemaFile, 'utf8') !== (await schemaText()))
    problems.push('src/api/schema.d.ts is not what docs/openapi.json generates');

try {
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', root], { stdio: 'pipe' });
} catch (failure) {
    problems.push(`tsc: ${failure.stdout}${failure.stderr}`);
}

function files(dir) {
    const out = new Map();
    const walk = (at) => {
        for (const name of readdirSync(at)) {
            const path = join(at, name);
            if (statSync(path).isDirectory()) walk(path);
            else out.set(relative(dir, path), readFileSync(path));
        }
    };
    walk(dir);
    return out;
}

const fresh = mkdtempSync(join(tmpdir(), 'reqstore-console-'));
try {
    await build({ root, logLevel: 'warn', build: { outDir: fresh, emptyOutDir: true } });
    const built = files(fresh);
    const committed = files(join(root, 'dist'));
    for (const [path, bytes] of built)
        if (!committed.has(path)) problems.push(`dist/${path} is missing`);
        else if (!committed.get(path).equals(bytes)) problems.push(`dist/${path} differs`);
    for (const path of committed.keys()) if (!built.has(path)) problems.push(`dist/${path} is no longer built`);
} finally {
    rmSync(fresh, { recursive: true, force: true });
}

if (problems.length) {
    console.error(`console/dist is not fresh:\n  ${problems.join('\n  ')}\nRun \`npm run build\` in console/ and commit the result.`);
    process.exit(1);
}
console.log(`console/dist is what its sources build to (${readdirSync(join(root, 'dist/assets')).length} assets)`);
