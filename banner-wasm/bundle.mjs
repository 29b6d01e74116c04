// Assembles what a visitor downloads, for `./dev build`: the loader's modules (js/) with the
// wasm-bindgen glue and the banner's styles inside, bundled and minified into one script (one
// request instead of two, and one brotli stream), the engine with short names and without the
// exports the glue never calls, optimized by wasm-opt and precompressed (the server compresses
// each site's loader itself, with the site's projection inside).
//   node banner-wasm/bundle.mjs <glue.js> <out dir> <wasm-opt> <its options…>
// (wasm-bindgen's engine is read beside its glue, `<glue>_bg.wasm`.)
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { minify } from 'terser';
import { build } from 'esbuild';

const [glueFile, out, wasmOpt, ...wasmOptions] = process.argv.slice(2);
const here = new URL('.', import.meta.url).pathname;
const wasmFile = join(out, 'biscotte_banner_bg.wasm');
const [wasm, glue, unprovided] = shortenNames(readFileSync(glueFile.replace(/\.js$/, '_bg.wasm')),
  trimGlue(readFileSync(glueFile, 'utf8')));
writeFileSync(wasmFile, wasm);
// Optimized after the exports the glue never calls are gone, so that what only they reached goes
// too (wasm-opt keeps names of imports and exports as they are).
execFileSync(wasmOpt, [...wasmOptions, wasmFile, '-o', wasmFile], { stdio: 'inherit' });
for (const { name } of WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(wasmFile)))) {
  if (unprovided.has(name)) throw new Error(`the optimized engine still imports ${unprovided.get(name)}, which the trimmed glue no longer provides`);
}
// One rule per line in the file, for reading; none of the line breaks matters to CSS.
const css = readFileSync(join(here, 'src/banner.css'), 'utf8').trim().replaceAll('\n', '');
// The glue of `--target no-modules` declares `wasm_bindgen`; made a module here (`biscotte:glue`),
// its imports find the loader's `bXxx` functions, which host.js exports. `initSync` (synchronous
// instantiation) went with the glue's loading (`trimGlue`): it is unlisted here.
const exported = 'Object.assign(__wbg_init, { initSync }, exports)';
if (glue.split(exported).length != 2) throw new Error(`the glue no longer holds ${exported}`);
const imports = [...new Set(glue.match(/\bb[A-Z]\w*(?=\()/g))];
const glueModule = `import { ${imports.join(', ')} } from ${JSON.stringify(join(here, 'js/host.js'))};\n` +
  glue.replace(exported, 'Object.assign(__wbg_init, exports)') +
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
// `hoist_funs` puts function declarations first in their scope, where JavaScript hoists them
// anyway (116 B brotli less: the minified code around them then joins into longer sequences).
const { code } = await minify(source, {
  ecma: 2020,
  compress: { passes: 3, unsafe_arrows: true, hoist_funs: true },
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

/** The glue, cut to the one way the loader uses it. Each cut names the text it expects, so a new
 * wasm-bindgen that changes them stops the build here.
 * - Loading: `wasm_bindgen({module_or_path})`, called once with the engine's URL as a string,
 *   which the Biscotte server serves as `application/wasm`, compiled by
 *   `WebAssembly.instantiateStreaming` (every browser that runs the banner has it). The glue's
 *   other paths (a module, bytes, a `Request` or `URL`, deprecated arguments, a wrong MIME type,
 *   a default URL from `document.currentScript`, a second call, `initSync`) and their warnings
 *   weigh about 300 B brotli.
 * - Strings to the engine: written by `TextEncoder.encodeInto` (every browser with
 *   `instantiateStreaming` has it) into room for three bytes per UTF-16 unit, then shrunk to
 *   what was written, instead of an ASCII loop first (80 B brotli). Memory views are made for
 *   each use rather than cached with checks for a memory that grew (detached buffers).
 * - The externref table: the engine holds no `JsValue`, so nothing reads the table that the
 *   glue fills at start, and the start does nothing else (`shortenNames` checks both); without
 *   the call, wasm-opt removes the table, the start and its import from the engine.
 * Together, about 360 B brotli less than the glue cut to loading alone. */
function trimGlue(glue) {
  const cut = (text, from, to, by) => {
    const a = text.indexOf(from), b = text.indexOf(to, a);
    if (a < 0 || b < 0 || text.indexOf(from, a + 1) >= 0) throw new Error(`the glue no longer holds ${JSON.stringify(from)} … ${JSON.stringify(to)}`);
    return text.slice(0, a) + by + text.slice(b);
  };
  glue = cut(glue, '    let script_src;\n', '\n    /**', '');
  // The loading: everything from the module's variables to the glue's exports, replaced whole,
  // once it is checked to hold these functions alone, and a finalizing step that only takes the
  // exports, resets the views' caches and calls the start.
  const loading = glue.slice(glue.indexOf('    let wasmModule, wasmInstance, wasm;\n'), glue.indexOf('    return Object.assign(__wbg_init,'));
  const functions = [...loading.matchAll(/^ {4}(?:async )?function (\w+)/gm)].map((m) => m[1]).join(' ');
  const finalize = '        wasmInstance = instance;\n        wasm = instance.exports;\n        wasmModule = module;\n' +
    '        cachedDataViewMemory0 = null;\n        cachedUint8ArrayMemory0 = null;\n        wasm.__wbindgen_start();\n        return wasm;\n    }\n';
  if (functions != '__wbg_finalize_init __wbg_load initSync __wbg_init __wbg_init_once' || !loading.includes(finalize)) {
    throw new Error(`the glue's loading is no longer the one bundle.mjs replaces (${functions})`);
  }
  glue = cut(glue, '    let wasmModule, wasmInstance, wasm;\n', '    return Object.assign(__wbg_init,',
    '    let wasm;\n    async function __wbg_init({ module_or_path }) {\n' +
    '        const { instance } = await WebAssembly.instantiateStreaming(fetch(module_or_path), __wbg_get_imports());\n' +
    '        wasm = instance.exports;\n        return wasm;\n    }\n\n');
  glue = cut(glue, '    let cachedDataViewMemory0 = null;\n', '    function getStringFromWasm0(',
    '    function getDataViewMemory0() {\n        return new DataView(wasm.memory.buffer);\n    }\n\n');
  glue = cut(glue, '    let cachedUint8ArrayMemory0 = null;\n', '    function passStringToWasm0(',
    '    function getUint8ArrayMemory0() {\n        return new Uint8Array(wasm.memory.buffer);\n    }\n\n');
  // An empty string takes no room (malloc answers a dangling pointer for 0 bytes, which realloc
  // must not be given).
  glue = cut(glue, '    function passStringToWasm0(arg, malloc, realloc) {\n', '    let cachedTextDecoder',
    '    function passStringToWasm0(arg, malloc, realloc) {\n        let len = arg.length * 3;\n' +
    '        let ptr = malloc(len, 1) >>> 0;\n        if (len) {\n' +
    '            const written = cachedTextEncoder.encodeInto(arg, getUint8ArrayMemory0().subarray(ptr, ptr + len)).written;\n' +
    '            ptr = realloc(ptr, len, len = written, 1) >>> 0;\n        }\n' +
    '        WASM_VECTOR_LEN = len;\n        return ptr;\n    }\n\n');
  glue = cut(glue, "    if (!('encodeInto' in cachedTextEncoder)) {\n", '    let WASM_VECTOR_LEN = 0;', '');
  glue = cut(glue, '            __wbindgen_init_externref_table: function() {\n', '        };\n        return {', '');
  for (const gone of ['__wbindgen_externrefs', '__wbindgen_start', 'cachedDataViewMemory0', 'cachedUint8ArrayMemory0', 'initSync(']) {
    if (glue.includes(gone)) throw new Error(`the trimmed glue still uses ${gone}`);
  }
  return glue;
}

/** Short names for the engine's imports, their module and its exports, in the wasm and the glue
 * alike. wasm-bindgen names each import `__wbg_<name>_<16 hex digits>` under the module
 * `./biscotte_banner_bg.js`: written twice each (wasm and glue), the hashes alone cost hundreds of
 * brotli bytes, since random digits do not compress. The exports the glue never names are
 * dropped (wasm-bindgen's abort-handler globals, unused with `panic = "abort"`, and what the
 * trimmed glue no longer calls), so that wasm-opt can remove what only they reached.
 * Answers the wasm, the glue, and the imports the glue does not provide (short name -> name):
 * the optimized engine must not import them. */
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
  const functionImports = []; // field names, by function index
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
      const entries = [];
      for (let i = 0; i < count; i++) {
        let entry, field;
        if (id === 2) {
          const mod = readStr();
          field = readStr();
          const isOurs = mod === moduleName;
          if (isOurs && !renamed.has(field)) renamed.set(field, short());
          entry = [...str(isOurs ? 'a' : mod), ...str(isOurs ? renamed.get(field) : field)];
        } else {
          field = readStr();
          // The engine's own exports keep their names: the glue's functions call them by name.
          const keep = /^(memory|consent|decide|start)$/.test(field);
          if (!keep && new RegExp(`\\bwasm\\.${field}\\b`).test(glue)) exported.set(field, 'x' + short());
          entry = keep || exported.has(field) ? [...str(keep ? field : exported.get(field))] : null;
        }
        const descStart = at;
        const kind = wasm[at++];
        if (kind === 0 || (id === 7)) leb();
        else if (kind === 1) { at++; const flags = leb(); leb(); if (flags & 1) leb(); }
        else if (kind === 2) { const flags = leb(); leb(); if (flags & 1) leb(); }
        else if (kind === 3) { at += 2; }
        else if (kind === 4) { at++; leb(); }
        else throw new Error(`unknown import kind ${kind}`);
        if (id === 2 && kind === 0) functionImports.push(field);
        if (id === 7 && field === '__wbindgen_start' && !entry) {
          // Uncalled, the start must be only the table's filling, not a `#[wasm_bindgen(start)]`.
          const index = (at = descStart + 1, leb());
          if (wasm[descStart] !== 0 || functionImports[index] !== '__wbindgen_init_externref_table') {
            throw new Error('the engine\'s __wbindgen_start does more than fill the externref table: the glue must call it');
          }
        }
        if (entry) entries.push(entry, wasm.subarray(descStart, at));
      }
      if (at !== end) throw new Error(`section ${id} was not read to its end`);
      const body = [...enc(entries.length / 2), ...entries.flatMap((e) => [...e])];
      sections.push(Buffer.from([id, ...enc(body.length), ...body]));
    } else {
      sections.push(wasm.subarray(start - 1 - enc(size).length, end));
    }
    at = end;
  }
  let text = glue.replace(`"${moduleName}": import0`, 'a: import0');
  const unprovided = new Map();
  for (const [from, to] of renamed) {
    const key = new RegExp(`(\\s)${from}:`, 'g');
    if (!key.test(text)) unprovided.set(to, from);
    text = text.replace(key, `$1${to}:`);
  }
  for (const [from, to] of exported) {
    text = text.replace(new RegExp(`\\bwasm\\.${from}\\b`, 'g'), `wasm.${to}`);
  }
  if (text.includes(moduleName) || /__wbg_\w+_[0-9a-f]{16}:/.test(text)) {
    throw new Error('the glue still names an import the wasm no longer has');
  }
  return [Buffer.concat([wasm.subarray(0, 8), ...sections]), text, unprovided];
}

function compress(file) {
  const bytes = readFileSync(file);
  const params = { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length };
  writeFileSync(file + '.br', brotliCompressSync(bytes, { params }));
  writeFileSync(file + '.gz', gzipSync(bytes, { level: 9 }));
}
compress(join(out, 'biscotte_banner_bg.wasm'));
