// Assembles what a visitor downloads, for `./dev build`: the loader's modules (js/) with the
// wasm-bindgen glue and the banner's styles inside, bundled and minified into one script (one
// request instead of two, and one brotli stream), and the precompressed forms of it and of the
// engine.
//   node banner-wasm/bundle.mjs <glue.js> <out dir>
import { readFileSync, writeFileSync } from 'node:fs';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { minify } from 'terser';
import { build } from 'esbuild';

const [glueFile, out] = process.argv.slice(2);
const here = new URL('.', import.meta.url).pathname;
const wasmFile = join(out, 'biscotte_banner_bg.wasm');
const [wasm, glue] = shortenNames(readFileSync(wasmFile), readFileSync(glueFile, 'utf8'));
writeFileSync(wasmFile, wasm);
// One rule per line in the file, for reading; none of the line breaks matters to CSS.
const css = readFileSync(join(here, 'src/banner.css'), 'utf8').trim().replaceAll('\n', '');
// The glue of `--target no-modules` declares `wasm_bindgen`; made a module here (`biscotte:glue`),
// its imports find the loader's `bXxx` functions, which host.js exports. `initSync` (synchronous
// instantiation) is never called: unlisted, the bundle drops it as dead code.
const exported = 'Object.assign(__wbg_init, { initSync }, exports)';
if (glue.split(exported).length != 2) throw new Error(`the glue no longer holds ${exported}`);
const imports = [...new Set(glue.match(/\bb[A-Z]\w*(?=\()/g))];
const glueModule = `import { ${imports.join(', ')} } from ${JSON.stringify(join(here, 'js/host.js'))};\n` +
  loadOnlyStreaming(glue).replace(exported, 'Object.assign(__wbg_init, exports)') +
  '\nexport default wasm_bindgen;\n';
// The modules, from js/boot.js, as one script: esbuild joins them into one function scope (the
// server fills in `__BISCOTTE_SITE__` and `__BISCOTTE_WASM__` per answer), terser minifies it.
const bundled = await build({
  entryPoints: [join(here, 'js/boot.js')],
  bundle: true,
  write: false,
  format: 'iife',
  target: 'es2020',
  charset: 'utf8',
  legalComments: 'inline',
  define: { __BISCOTTE_CSS__: JSON.stringify(css) },
  plugins: [{
    name: 'glue',
    setup(b) {
      b.onResolve({ filter: /^biscotte:glue$/ }, () => ({ path: 'glue', namespace: 'biscotte' }));
      b.onLoad({ filter: /.*/, namespace: 'biscotte' }, () => ({ contents: glueModule, loader: 'js', resolveDir: here }));
    },
  }],
});
const source = bundled.outputFiles[0].text;
for (const mark of ['__BISCOTTE_WASM__', '__BISCOTTE_SITE__']) {
  if (source.split(mark).length != 2) throw new Error(`the loader must hold ${mark} exactly once`);
}
// terser after esbuild: it also removes the functions nothing calls (270 B brotli less).
const { code } = await minify(source, {
  ecma: 2020,
  compress: { passes: 3, unsafe_arrows: true },
  mangle: true,
  format: { comments: /^!/ },
});
if (code.includes('__wbindgen_debug') || /\bimport\.meta\b/.test(code)) {
  throw new Error('the glue is not the no-modules build this loader expects');
}
for (const mark of ['__BISCOTTE_WASM__', '__BISCOTTE_SITE__']) {
  if (code.split(mark).length != 2) throw new Error(`the minified loader must hold ${mark} exactly once`);
}
writeFileSync(join(out, 'loader.js'), code);

/** The glue's loading, cut to the one way the loader uses it: `wasm_bindgen({module_or_path})`
 * with the engine's URL, which the Biscotte server serves as `application/wasm`, compiled by
 * `WebAssembly.instantiateStreaming` (every browser that runs the banner has it). The glue's
 * other paths (a module or bytes, deprecated arguments, a wrong MIME type, a default URL from
 * `document.currentScript`) and their warnings weigh about 250 B brotli. Each cut names the text
 * it expects, so a new wasm-bindgen that changes them stops the build here. */
function loadOnlyStreaming(glue) {
  const cut = (text, from, to, by) => {
    const a = text.indexOf(from), b = text.indexOf(to, a);
    if (a < 0 || b < 0 || text.indexOf(from, a + 1) >= 0) throw new Error(`the glue no longer holds ${JSON.stringify(from)} … ${JSON.stringify(to)}`);
    return text.slice(0, a) + by + text.slice(b);
  };
  glue = cut(glue, '    let script_src;\n', '\n    /**', '');
  glue = cut(glue, 'async function __wbg_load(module, imports) {', '    function initSync(module) {',
    'async function __wbg_load(module, imports) {\n        return WebAssembly.instantiateStreaming(module, imports);\n    }\n\n');
  glue = cut(glue, '        if (module_or_path !== undefined) {', '        const imports = __wbg_get_imports();',
    '        ({module_or_path} = module_or_path);\n');
  return glue;
}

/** Short names for the engine's imports, their module and its exports, in the wasm and the glue
 * alike. wasm-bindgen names each import `__wbg_<name>_<16 hex digits>` under the module
 * `./biscotte_banner_bg.js`: written twice each (wasm and glue), the hashes alone cost hundreds of
 * brotli bytes, since random digits do not compress. */
function shortenNames(wasm, glue) {
  const moduleName = './biscotte_banner_bg.js';
  let n = 0;
  const short = () => {
    let name = '', i = n++;
    do { name += 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'[i % 52]; i = Math.floor(i / 52); } while (i);
    return name;
  };
  const renamed = new Map(); // old field name -> new
  const exported = new Map();
  const sections = [];
  let at = 8;
  const leb = () => { let v = 0, s = 0, b; do { b = wasm[at++]; v |= (b & 127) << s; s += 7; } while (b & 128); return v >>> 0; };
  const enc = (v) => { const out = []; do { let b = v & 127; v >>>= 7; if (v) b |= 128; out.push(b); } while (v); return out; };
  const str = (s) => { const b = Buffer.from(s); return [...enc(b.length), ...b]; };
  const readStr = () => { const len = leb(); const s = wasm.subarray(at, at + len).toString(); at += len; return s; };
  while (at < wasm.length) {
    const id = wasm[at++];
    const size = leb();
    const start = at, end = at + size;
    if (id === 2 || id === 7) {
      const count = leb();
      const body = [...enc(count)];
      for (let i = 0; i < count; i++) {
        if (id === 2) {
          const mod = readStr(), field = readStr();
          const isOurs = mod === moduleName;
          if (isOurs && !renamed.has(field)) renamed.set(field, short());
          body.push(...str(isOurs ? 'a' : mod), ...str(isOurs ? renamed.get(field) : field));
        } else {
          const field = readStr();
          // The engine's own exports keep their names: the glue's functions call them by name.
          const keep = /^(memory|consent|decide|start)$/.test(field);
          if (!keep) exported.set(field, 'x' + short());
          body.push(...str(keep ? field : exported.get(field)));
        }
        const descStart = at;
        const kind = wasm[at++];
        if (kind === 0 || (id === 7)) leb();
        else if (kind === 1) { at++; const flags = leb(); leb(); if (flags & 1) leb(); }
        else if (kind === 2) { const flags = leb(); leb(); if (flags & 1) leb(); }
        else if (kind === 3) { at += 2; }
        else if (kind === 4) { at++; leb(); }
        else throw new Error(`unknown import kind ${kind}`);
        body.push(...wasm.subarray(descStart, at));
      }
      if (at !== end) throw new Error(`section ${id} was not read to its end`);
      sections.push(Buffer.from([id, ...enc(body.length), ...body]));
    } else {
      sections.push(wasm.subarray(start - 1 - enc(size).length, end));
    }
    at = end;
  }
  let text = glue.replace(`"${moduleName}": import0`, 'a: import0');
  for (const [from, to] of renamed) {
    const key = new RegExp(`(\\s)${from}:`, 'g');
    if (!key.test(text)) throw new Error(`the glue has no import ${from}`);
    text = text.replace(key, `$1${to}:`);
  }
  for (const [from, to] of exported) {
    text = text.replace(new RegExp(`\\bwasm\\.${from}\\b`, 'g'), `wasm.${to}`);
  }
  if (text.includes(moduleName) || /__wbg_\w+_[0-9a-f]{16}:/.test(text)) {
    throw new Error('the glue still names an import the wasm no longer has');
  }
  return [Buffer.concat([wasm.subarray(0, 8), ...sections]), text];
}

function compress(file) {
  const bytes = readFileSync(file);
  const params = { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length };
  writeFileSync(file + '.br', brotliCompressSync(bytes, { params }));
  writeFileSync(file + '.gz', gzipSync(bytes, { level: 9 }));
}
compress(join(out, 'biscotte_banner_bg.wasm'));
