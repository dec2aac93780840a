// The console is served by sluiced itself: index.html at `/`, everything else under
// `/console/assets/` (hashed names, cached for a year). No dev-server proxy config is needed for
// a build; `npm run dev` proxies the API to SLUICED (default http://127.0.0.1:8080).
import { defineConfig } from 'vite';

const api = process.env.SLUICED || 'http://127.0.0.1:8080';
const apiPaths = ['/auth', '/streams', '/channels', '/media', '/live', '/keys', '/pipelines',
                  '/recordings', '/settings', '/metrics', '/health'];

export default defineConfig({
  base: '/console/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    // CMake builds into its build directory (SLUICE_CONSOLE_DIST); scripts/gzip.mjs reads the same.
    outDir: process.env.SLUICE_CONSOLE_DIST || 'dist',
    emptyOutDir: true,
    target: 'es2020',
    assetsDir: 'assets',
    // Everything ships inside sluiced: no source maps, one CSS file, hashed names.
    sourcemap: false,
    cssCodeSplit: false,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: Object.fromEntries(apiPaths.map((p) => [p, { target: api, changeOrigin: false }])),
  },
});
