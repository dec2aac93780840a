// After `vite build`: a gzip copy (level 9, no name or time in the header: reproducible) beside
// every file of the output directory that compresses, which sluiced sends to clients that accept
// gzip. Usage: node scripts/gzip.mjs [DIR] (default: $SLUICE_CONSOLE_DIST, as in vite.config.ts,
// else dist).
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, constants } from 'node:zlib';

const dir = process.argv[2] || process.env.SLUICE_CONSOLE_DIST || 'dist';
let shipped = 0;
let files = 0;
function walk(d) {
  for (const name of readdirSync(d)) {
    const p = join(d, name);
    if (statSync(p).isDirectory()) { walk(p); continue; }
    if (name.endsWith('.gz')) continue;
    const body = readFileSync(p);
    const gz = gzipSync(body, { level: constants.Z_BEST_COMPRESSION });
    ++files;
    if (gz.length < body.length * 0.9) {
      writeFileSync(p + '.gz', gz);
      shipped += gz.length;
    } else {
      shipped += body.length;
    }
  }
}
walk(dir);
console.log(`console: ${files} files, ${(shipped / 1024).toFixed(1)} KiB as shipped (gzip where smaller)`);
