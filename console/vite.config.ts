// The console's build: hashed assets under /console/assets/, no source maps, nothing inlined, so
// that the page runs under the server's strict Content-Security-Policy (docs/CONSOLE.md).
import { defineConfig } from 'vite';

export default defineConfig({
    base: '/console/',
    esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
    build: {
        outDir: 'dist',
        emptyOutDir: true,
        sourcemap: false,
        // Inlined assets would be data: URLs in scripts and styles; every asset stays a file.
        assetsInlineLimit: 0,
        // The polyfill would be an inline script, which the policy refuses; the browsers the
        // console supports preload modules themselves.
        modulePreload: { polyfill: false },
        cssCodeSplit: false,
        reportCompressedSize: false,
    },
    server: {
        // `npm run dev`: the page from Vite, the API from a server on the shipped config.
        proxy: {
            '/v1': 'http://127.0.0.1:8080',
            '/metrics': 'http://127.0.0.1:8080',
            '/healthz': 'http://127.0.0.1:8080',
            '/readyz': 'http://127.0.0.1:8080',
        },
    },
});
