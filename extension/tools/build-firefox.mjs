// Produce the Firefox variant: dist/firefox/ with manifest.firefox.json as its manifest.json
// (an event page instead of a service worker, and a gecko id). No dependencies:
//   node extension/tools/build-firefox.mjs
// then load dist/firefox/manifest.json in about:debugging, or `npx web-ext build -s dist/firefox`.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist', 'firefox');
const SHIPPED = ['background', 'common', 'content', 'icons', 'lib', 'options', 'popup'];

fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });
for (const dir of SHIPPED) fs.cpSync(path.join(root, dir), path.join(out, dir), { recursive: true });
fs.copyFileSync(path.join(root, 'manifest.firefox.json'), path.join(out, 'manifest.json'));
console.log(`Firefox extension written to ${path.relative(process.cwd(), out) || out}`);
