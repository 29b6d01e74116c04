// Assembles what a visitor downloads, for `./dev build`: the loader with the wasm-bindgen glue
// and the banner's styles inside, minified into one script (one request instead of two, and one
// brotli stream), and the precompressed forms of it and of the engine.
//   node banner-wasm/bundle.mjs <glue.js> <out dir>
import { readFileSync, writeFileSync } from 'node:fs';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { transformSync } from 'esbuild';

const [glueFile, out] = process.argv.slice(2);
const here = new URL('.', import.meta.url).pathname;
const glue = readFileSync(glueFile, 'utf8');
const css = readFileSync(join(here, 'src/banner.css'), 'utf8').trim();
const template = readFileSync(join(here, 'loader.js'), 'utf8');
for (const mark of ['__BISCOTTE_GLUE__', '__BISCOTTE_CSS__', '__BISCOTTE_WASM__']) {
  if (template.split(mark).length != 2) throw new Error(`loader.js must hold ${mark} exactly once`);
}
// The glue of `--target no-modules` declares `wasm_bindgen`; inside the loader's function it is
// local, and its imports find the loader's `bXxx` functions in the enclosing scope.
const source = template
  .replace('__BISCOTTE_GLUE__', () => glue)
  .replace('__BISCOTTE_CSS__', () => JSON.stringify(css));
const { code } = transformSync(source, { minify: true, target: 'es2020', legalComments: 'inline' });
if (code.includes('__wbindgen_debug') || /\bimport\.meta\b/.test(code)) {
  throw new Error('the glue is not the no-modules build this loader expects');
}
writeFileSync(join(out, 'loader.js'), code);

function compress(file) {
  const bytes = readFileSync(file);
  const params = { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length };
  writeFileSync(file + '.br', brotliCompressSync(bytes, { params }));
  writeFileSync(file + '.gz', gzipSync(bytes, { level: 9 }));
}
compress(join(out, 'biscotte_banner_bg.wasm'));
