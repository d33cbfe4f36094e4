#!/usr/bin/env node
/*
 * nsfwjs 4.4.0 itself (its default MobileNetV2, tfjs 4.22.0, wasm backend
 * with SIMD, one thread) on decoded pixels: binary PPM files, as
 * build/moderate --ppm writes them, so both sides score the same pixels.
 *
 *   node reference.js --modules DIR [--backend wasm|cpu] [--repeat N]
 *                     IMAGE.ppm...
 *
 * One JSON object a line: {"file", "width", "height", "scores": {"drawing",
 * "hentai", "neutral", "porn", "sexy"}}, plus with --repeat N (after one
 * warm-up) "ms": the mean wall-clock time of nsfwjs's classify() (its
 * normalisation, resize and the network).  A first line "versions" tells
 * what ran.
 */

'use strict';

const fs = require('fs');
const path = require('path');

function args(argv) {
  const o = { backend: 'wasm', repeat: 0, files: [] };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--modules') o.modules = argv[++i];
    else if (a === '--backend') o.backend = argv[++i];
    else if (a === '--repeat') o.repeat = parseInt(argv[++i], 10);
    else o.files.push(a);
  }
  if (!o.modules || !o.files.length) {
    console.error('usage: reference.js --modules DIR [--backend wasm|cpu] '
                  + '[--repeat N] IMAGE.ppm...');
    process.exit(2);
  }
  return o;
}

/* P6, maxval 255; comments are not written by build/moderate */
function readPpm(file) {
  const buf = fs.readFileSync(file);
  const fields = [];
  let pos = 0;
  while (fields.length < 4) {
    while (pos < buf.length && /\s/.test(String.fromCharCode(buf[pos]))) pos++;
    const start = pos;
    while (pos < buf.length && !/\s/.test(String.fromCharCode(buf[pos]))) pos++;
    fields.push(buf.toString('latin1', start, pos));
  }
  pos++;
  const [magic, w, h, max] = [fields[0], +fields[1], +fields[2], +fields[3]];
  if (magic !== 'P6' || max !== 255 || buf.length - pos !== w * h * 3) {
    throw new Error(`${file}: not a binary 8-bit PPM`);
  }
  return { width: w, height: h, data: buf.subarray(pos) };
}

async function main() {
  const o = args(process.argv);
  const req = (m) => require(path.join(path.resolve(o.modules), m));
  const tf = req('@tensorflow/tfjs');
  const wasm = req('@tensorflow/tfjs-backend-wasm');
  const nsfwjs = req('nsfwjs');

  if (o.backend === 'wasm') {
    wasm.setWasmPaths(path.join(path.resolve(o.modules),
                                '@tensorflow/tfjs-backend-wasm/dist') + '/');
  }
  await tf.setBackend(o.backend);
  await tf.ready();

  /* nsfwjs announces its model on the console: keep stdout for JSON */
  const info = console.info;
  console.info = () => {};
  const model = await nsfwjs.load('MobileNetV2');
  console.info = info;

  let simd = false;
  if (o.backend === 'wasm') {
    simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  }
  const pkg = JSON.parse(fs.readFileSync(
    path.join(path.resolve(o.modules), 'nsfwjs/package.json'), 'utf8'));
  console.log(JSON.stringify({ versions: { nsfwjs: pkg.version,
    tfjs: tf.version_core, backend: tf.getBackend(), simd,
    node: process.versions.node } }));

  for (const file of o.files) {
    const img = readPpm(file);
    const input = tf.tensor3d(img.data, [img.height, img.width, 3], 'int32');
    let res = await model.classify(input, 5);
    const out = { file, width: img.width, height: img.height, scores: {} };
    if (o.repeat > 0) {
      const t0 = performance.now();
      for (let i = 0; i < o.repeat; i++) res = await model.classify(input, 5);
      out.ms = (performance.now() - t0) / o.repeat;
    }
    input.dispose();
    const byName = {};
    for (const r of res) byName[r.className.toLowerCase()] = r.probability;
    for (const n of ['drawing', 'hentai', 'neutral', 'porn', 'sexy']) {
      out.scores[n] = byName[n];
    }
    console.log(JSON.stringify(out));
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
