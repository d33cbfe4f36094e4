#!/usr/bin/env node
/*
 * Reference outputs of face-api for the C face engine (src/face/).
 *
 * Versions (pinned in scripts/face-reference/package.json and its lock):
 * @vladmandic/face-api 1.7.15, @tensorflow/tfjs 4.22.0,
 * @tensorflow/tfjs-backend-wasm 4.22.0 (SIMD, one thread); Node >= 20.
 * Images are decoded by the vips command (libvips-tools), the library the
 * engine decodes with; jpeg-js 0.4.4 only decodes for "bench" (face-api's
 * own way in Node).  The weights are the ones inside the face-api package,
 * the same files scripts/fetch-models.sh puts in models/.
 *
 * Regenerate the committed fixtures with scripts/face-reference/run, which
 * installs the packages into build/face-reference/ ("npm ci") and runs
 *
 *   node scripts/face-reference/reference.js fixtures \
 *       --modules build/face-reference/node_modules \
 *       --images demo/fixtures --out t/fixtures/face \
 *       --debug build/face-reference/debug
 *
 * Commands:
 *   fixtures  sample1..6.jpg -> <out>/sampleN.json and <out>/transforms.json
 *             (see t/fixtures/face/README) and, with --debug DIR,
 *             per-layer dumps of sample1 into DIR
 *   cli       faceenc's command line answered by face-api (see
 *             scripts/face-reference/faceenc-js)
 *   bench     IMAGE [--runs N] [--warmup N] [--chips N]: timings of face-api
 *             on one image, one JSON object on stdout (used by bench/face)
 *
 * Two chips per face go through the same recognition net:
 *   faceapi  what .withFaceDescriptors() does: the axis-aligned square of
 *            FaceLandmarks.align(null, {useDlibAlignment: true}), cropped,
 *            centre-padded to a square and resized bilinearly to 150x150
 *   dlib     dlib's get_face_chip_details + extract_image_chip: similarity
 *            transform from iBUG points 45, 42, 36, 39, 33 to dlib's 5-point
 *            template, 150x150, padding 0.25, bilinear, uint8 (no
 *            pyramid_down pre-smoothing)
 */

'use strict';

const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

const SAMPLES = [1, 2, 3, 4, 5, 6].map((n) => `sample${n}.jpg`);
const MIN_CONFIDENCE = 0.5;
const CHIP = 150;
const PADDING = 0.25;

/* dlib's 5-point template and the iBUG-68 points that match it */
const TEMPLATE5 = [
    [0.8595674595992, 0.2134981538014],
    [0.6460604764104, 0.2289674387677],
    [0.1205750620789, 0.2137274526848],
    [0.3340850613712, 0.2290642403242],
    [0.4901123135679, 0.6277975316475],
];
const IBUG5 = [45, 42, 36, 39, 33];

let tf;
let wasm;
let faceapi;
let jpeg;

function usage(msg) {
    if (msg) {
        process.stderr.write(`reference.js: ${msg}\n`);
    }
    process.stderr.write(
        'usage: reference.js fixtures --modules DIR --images DIR --out DIR'
        + ' [--debug DIR]\n'
        + '       reference.js bench --modules DIR IMAGE [--runs N]'
        + ' [--warmup N] [--chips N]\n');
    process.exit(2);
}

function parseArgs(argv) {
    const opt = { cmd: argv[0], files: [], runs: 20, warmup: 3, chips: 50 };
    const names = ['modules', 'images', 'out', 'debug', 'runs', 'warmup',
        'chips'];

    for (let i = 1; i < argv.length; i++) {
        const a = argv[i];
        if (a.startsWith('--')) {
            const k = a.slice(2);
            if (!names.includes(k) || i + 1 >= argv.length) {
                usage(`bad option ${a}`);
            }
            opt[k] = argv[++i];
        } else {
            opt.files.push(a);
        }
    }
    if (!opt.modules) {
        usage('--modules is required');
    }
    for (const k of ['runs', 'warmup', 'chips']) {
        opt[k] = parseInt(opt[k], 10);
    }
    return opt;
}

/* Packages come from the install dir, not from next to this script. */
async function load(modulesDir) {
    const req = createRequire(path.join(path.resolve(modulesDir),
        'noop.js'));
    const quiet = console.log;

    tf = req('@tensorflow/tfjs');
    wasm = req('@tensorflow/tfjs-backend-wasm');
    jpeg = req('jpeg-js');
    /* face-api prints a banner about tfjs-node on load */
    console.log = () => {};
    try {
        faceapi = req('@vladmandic/face-api/dist/face-api.node-wasm.js');
    } finally {
        console.log = quiet;
    }

    const wasmDir = path.dirname(
        req.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
    wasm.setWasmPaths(path.join(wasmDir, 'dist') + '/');
    wasm.setThreadsCount(1);
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    await tf.setBackend('wasm');
    await tf.ready();

    const modelDir = path.join(path.dirname(
        req.resolve('@vladmandic/face-api/package.json')), 'model');
    for (const n of ['ssdMobilenetv1', 'tinyFaceDetector',
        'faceLandmark68Net', 'faceRecognitionNet']) {
        await faceapi.nets[n].loadFromDisk(modelDir);
    }

    return {
        tfjs: tf.version_core,
        faceapi: faceapi.version,
        backend: tf.getBackend(),
        simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'),
        threads: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'),
    };
}

function decodeJpegJs(file) {
    const raw = jpeg.decode(fs.readFileSync(file),
        { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: 1024 });
    return { width: raw.width, height: raw.height, rgb: raw.data };
}

/*
 * The engine decodes with libvips; so do the fixtures, through the vips
 * command (libvips-tools, the same library) to a binary PPM/PGM.  jpeg-js
 * decodes the same JPEGs differently enough to move descriptors by
 * 0.01-0.13 (measured on sample1..6), more than the parity bar.
 */
function decodeVips(file) {
    const { execFileSync } = require('child_process');
    const tmp = path.join(require('os').tmpdir(),
        `face-reference-${process.pid}.pnm`);
    try {
        /* like the engine: a truncated file is an error, not grey rows */
        execFileSync('vips', ['copy', `${file}[fail_on=truncated]`, tmp],
            { stdio: ['ignore', 'ignore', 'pipe'] });
        const b = fs.readFileSync(tmp);
        /* P6 or P5, an optional comment line, width height maxval */
        const m = /^P([56])\s+(?:#[^\n]*\n\s*)?(\d+)\s+(\d+)\s+(\d+)\s/
            .exec(b.subarray(0, 256).toString('latin1'));
        if (!m || m[4] !== '255') {
            throw new Error('unexpected vips output');
        }
        const W = +m[2];
        const H = +m[3];
        const px = b.subarray(m[0].length);
        const rgb = new Uint8Array(W * H * 3);
        for (let i = 0; i < W * H; i++) {
            for (let c = 0; c < 3; c++) {
                rgb[i * 3 + c] = m[1] === '6' ? px[i * 3 + c] : px[i];
            }
        }
        return { width: W, height: H, rgb };
    } finally {
        fs.rmSync(tmp, { force: true });
    }
}

/* FACE_REFERENCE_DECODER=jpeg-js: JPEG through jpeg-js instead */
function decodeAny(file) {
    const b = fs.readFileSync(file);
    if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff
        && process.env.FACE_REFERENCE_DECODER === 'jpeg-js') {
        return decodeJpegJs(file);
    }
    return decodeVips(file);
}

function imageTensor(img) {
    return tf.tensor3d(img.rgb, [img.height, img.width, 3], 'int32');
}

/* 7 significant digits; exact integers stay integers */
function r7(v) {
    return Number(v.toPrecision(7));
}

/*
 * Least-squares similarity transform (rotation, uniform scale,
 * translation) taking the points "from" onto "to": to ~ c R from + t.
 */
function similarity(from, to) {
    const n = from.length;
    let fx = 0;
    let fy = 0;
    let tx = 0;
    let ty = 0;
    let sxx = 0;
    let sxy = 0;
    let var2 = 0;

    for (let i = 0; i < n; i++) {
        fx += from[i][0] / n;
        fy += from[i][1] / n;
        tx += to[i][0] / n;
        ty += to[i][1] / n;
    }
    for (let i = 0; i < n; i++) {
        const ax = from[i][0] - fx;
        const ay = from[i][1] - fy;
        const bx = to[i][0] - tx;
        const by = to[i][1] - ty;
        sxx += ax * bx + ay * by;
        sxy += ax * by - ay * bx;
        var2 += ax * ax + ay * ay;
    }

    const theta = Math.atan2(sxy, sxx);
    const c = Math.hypot(sxx, sxy) / var2;
    const cos = Math.cos(theta);
    const sin = Math.sin(theta);
    const ox = tx - c * (cos * fx - sin * fy);
    const oy = ty - c * (sin * fx + cos * fy);

    return {
        c, theta, cos, sin,
        map: (x, y) => [c * (cos * x - sin * y) + ox,
            c * (sin * x + cos * y) + oy],
    };
}

/* dlib-mode chip: 150x150x3 uint8 sampled from the decoded image */
function dlibChip(img, lm) {
    const { width: W, height: H, rgb } = img;
    const chipPts = TEMPLATE5.map(([x, y]) => [
        (PADDING + x) / (2 * PADDING + 1) * CHIP,
        (PADDING + y) / (2 * PADDING + 1) * CHIP]);
    const s = similarity(chipPts, IBUG5.map((i) => lm[i]));
    const [cx, cy] = s.map(CHIP / 2, CHIP / 2);
    const side = CHIP * s.c - 1;          /* dlib's centered_drect */
    const k = side / (CHIP - 1);
    const out = new Uint8Array(CHIP * CHIP * 3);

    for (let row = 0; row < CHIP; row++) {
        for (let col = 0; col < CHIP; col++) {
            const dx = (col - (CHIP - 1) / 2) * k;
            const dy = (row - (CHIP - 1) / 2) * k;
            const px = cx + s.cos * dx - s.sin * dy;
            const py = cy + s.sin * dx + s.cos * dy;
            const x0 = Math.floor(px);
            const y0 = Math.floor(py);
            const o = (row * CHIP + col) * 3;

            /* outside: dlib's interpolate_bilinear fails, pixel stays 0 */
            if (x0 < 0 || y0 < 0 || x0 + 1 >= W || y0 + 1 >= H) {
                continue;
            }

            const fx = px - x0;
            const fy = py - y0;
            const i00 = (y0 * W + x0) * 3;
            const i01 = i00 + 3;
            const i10 = i00 + W * 3;
            const i11 = i10 + 3;

            for (let ch = 0; ch < 3; ch++) {
                const top = (1 - fx) * rgb[i00 + ch] + fx * rgb[i01 + ch];
                const bot = (1 - fx) * rgb[i10 + ch] + fx * rgb[i11 + ch];
                const v = Math.round((1 - fy) * top + fy * bot);
                out[o + ch] = Math.min(255, Math.max(0, v));
            }
        }
    }

    return {
        chip: out,
        centre: [cx, cy],
        rect: [cx - side / 2, cy - side / 2, side, side],
        angle: s.theta * 180 / Math.PI,
        scale: s.c,
    };
}

async function descriptorOf(chipU8) {
    const t = tf.tensor3d(chipU8, [CHIP, CHIP, 3], 'int32');
    const d = await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(t);
    t.dispose();
    return Array.from(d);
}

function ssdOptions() {
    return new faceapi.SsdMobilenetv1Options(
        { minConfidence: MIN_CONFIDENCE, maxResults: 100 });
}

function tinyOptions() {
    return new faceapi.TinyFaceDetectorOptions(
        { inputSize: 416, scoreThreshold: 0.5 });
}

async function referenceFor(file) {
    const img = decodeVips(file);
    const input = imageTensor(img);
    const res = await faceapi.detectAllFaces(input, ssdOptions())
        .withFaceLandmarks().withFaceDescriptors();
    const faces = [];

    for (const r of res) {
        const b = r.detection.box;
        const lm = r.landmarks.positions.map((p) => [p.x, p.y]);
        const a = r.landmarks.align(null, { useDlibAlignment: true });
        const dl = dlibChip(img, lm);

        faces.push({
            score: r7(r.detection.score),
            box: [b.x, b.y, b.width, b.height].map(r7),
            landmarks: lm.map(([x, y]) => [r7(x), r7(y)]),
            descriptor: Array.from(r.descriptor).map(r7),
            faceapi_chip: [a.x, a.y, a.width, a.height],
            dlib: {
                centre: dl.centre.map(r7),
                rect: dl.rect.map(r7),
                angle: r7(dl.angle),
                scale: r7(dl.scale),
                descriptor: (await descriptorOf(dl.chip)).map(r7),
            },
        });
    }

    return { img, input, res, out: {
        image: path.basename(file), width: img.width, height: img.height,
        faces,
    } };
}

async function tinyFor(input) {
    const dets = await faceapi.detectAllFaces(input, tinyOptions());
    return dets.map((d) => ({
        score: r7(d.score),
        box: [d.box.x, d.box.y, d.box.width, d.box.height].map(r7),
    }));
}

/* Compact JSON: one face field per line keeps diffs readable. */
function writeJson(file, obj) {
    const faceLines = (faces) => faces.map((f) => '    '
        + JSON.stringify(f)).join(',\n');
    const head = { ...obj };
    delete head.faces;
    delete head.tiny;

    let s = '{\n';
    for (const [k, v] of Object.entries(head)) {
        s += `  ${JSON.stringify(k)}: ${JSON.stringify(v)},\n`;
    }
    if (obj.tiny) {
        s += `  "tiny": [\n${faceLines(obj.tiny)}\n  ],\n`;
    }
    s += `  "faces": [\n${faceLines(obj.faces)}\n  ]\n}\n`;
    fs.writeFileSync(file, s);
}

/*
 * Transformed copies, made exactly as t/040-face-engine.t makes them (keep
 * the two lists alike): name, output suffix with save options, vips
 * operation and arguments, and where a point (x, y) of a W x H original
 * lands in the W2 x H2 copy.
 */
const RAD20 = 20 * Math.PI / 180;
const TRANSFORMS = [
    ['half', '.jpg[Q=90]', ['resize', '0.5'], (x, y) => [x * 0.5, y * 0.5]],
    ['mirror', '.jpg[Q=90]', ['flip', 'horizontal'], (x, y, W) => [W - x, y]],
    ['q50', '.jpg[Q=50]', ['copy'], (x, y) => [x, y]],
    ['webp', '.webp', ['copy'], (x, y) => [x, y]],
    /* vips turns the picture clockwise (y down) and grows the canvas */
    ['rot20', '.jpg[Q=90]', ['rotate', '20'], (x, y, W, H, W2, H2) => {
        const dx = x - W / 2;
        const dy = y - H / 2;
        return [W2 / 2 + Math.cos(RAD20) * dx - Math.sin(RAD20) * dy,
            H2 / 2 + Math.sin(RAD20) * dx + Math.cos(RAD20) * dy];
    }],
];

function vipsVersion() {
    const { execFileSync } = require('child_process');
    return execFileSync('vips', ['--version']).toString().trim();
}

/* face-api's faces of a decoded image with dlib-mode descriptors */
async function dlibFaces(img) {
    const input = imageTensor(img);
    const res = await faceapi.detectAllFaces(input, ssdOptions())
        .withFaceLandmarks();
    const out = [];
    for (const r of res) {
        const b = r.detection.box;
        const lm = r.landmarks.positions.map((p) => [p.x, p.y]);
        out.push({ box: [b.x, b.y, b.width, b.height],
            descriptor: await descriptorOf(dlibChip(img, lm).chip) });
    }
    input.dispose();
    return out;
}

function distance(a, b) {
    let s = 0;
    for (let i = 0; i < a.length; i++) {
        s += (a[i] - b[i]) ** 2;
    }
    return Math.sqrt(s);
}

/*
 * For every face of every sample and every copy: where face-api finds it
 * again (nearest box centre to where it went, within a quarter of its
 * size) and how far its dlib-mode descriptor moved.
 */
async function transformReference(images, samples) {
    const { execFileSync } = require('child_process');
    const tmp = fs.mkdtempSync(path.join(require('os').tmpdir(),
        'face-reference-'));
    const out = {};

    try {
        for (const name of samples) {
            const file = path.join(images, name);
            const orig = decodeVips(file);
            const faces = await dlibFaces(orig);
            const key = name.replace(/\.jpg$/, '');
            out[key] = {};
            for (const [tn, suffix, op, map] of TRANSFORMS) {
                const ext = suffix.replace(/\[.*/, '');
                const copy = path.join(tmp, `${key}-${tn}${ext}`);
                execFileSync('vips', [op[0], file,
                    copy + suffix.slice(ext.length), ...op.slice(1)]);
                const img = decodeVips(copy);
                const got = await dlibFaces(img);
                const scale = tn === 'half' ? 0.5 : 1;
                out[key][tn] = faces.map((f) => {
                    const [cx, cy] = map(f.box[0] + f.box[2] / 2,
                        f.box[1] + f.box[3] / 2, orig.width, orig.height,
                        img.width, img.height);
                    let near = null;
                    let nd = Infinity;
                    for (const g of got) {
                        const d = Math.hypot(g.box[0] + g.box[2] / 2 - cx,
                            g.box[1] + g.box[3] / 2 - cy);
                        if (d < nd) {
                            near = g;
                            nd = d;
                        }
                    }
                    if (!near || nd > 0.25 * scale * Math.max(f.box[2],
                        f.box[3])) {
                        return { found: false };
                    }
                    return { found: true, box: f.box.map(r7),
                        distance: r7(distance(near.descriptor,
                            f.descriptor)) };
                });
            }
            process.stderr.write(`${name}: copies: ` + TRANSFORMS.map(
                ([tn]) => `${tn} ${out[key][tn].map((x) => (x.found
                    ? x.distance.toFixed(3) : 'lost')).join(' ')}`)
                .join('; ') + '\n');
        }
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
    return out;
}

async function cmdFixtures(opt, versions) {
    if (!opt.images || !opt.out) {
        usage('fixtures needs --images and --out');
    }
    fs.mkdirSync(opt.out, { recursive: true });
    const decoder = `${vipsVersion()} (vips copy to PPM)`;

    for (const name of SAMPLES) {
        const ref = await referenceFor(path.join(opt.images, name));
        const obj = {
            generator: 'scripts/face-reference/reference.js',
            versions: { faceapi: versions.faceapi, tfjs: versions.tfjs,
                backend: `${versions.backend}${versions.simd ? '-simd' : ''}`,
                decoder },
            detector: 'ssd', min_confidence: MIN_CONFIDENCE,
            ...ref.out,
        };
        if (name === 'sample1.jpg') {
            obj.tiny = await tinyFor(ref.input);
            obj.tiny_options = { input_size: 416, score_threshold: 0.5 };
        }
        writeJson(path.join(opt.out, name.replace(/\.jpg$/, '.json')), obj);
        process.stderr.write(`${name}: ${ref.img.width}x${ref.img.height}, `
            + `${ref.out.faces.length} faces, scores `
            + ref.out.faces.map((f) => f.score.toFixed(4)).join(' ') + '\n');

        if (opt.debug && name === 'sample1.jpg') {
            await dumpDebug(opt.debug, ref);
        }
        ref.input.dispose();
    }

    const tr = {
        generator: 'scripts/face-reference/reference.js',
        versions: { faceapi: versions.faceapi, tfjs: versions.tfjs,
            decoder },
        note: 'face-api (SSD, dlib-mode chips) on copies made with the vips'
            + ' command; per sample, per copy, per face of the original in'
            + ' face-api order: found again, its box in the original, the'
            + ' Euclidean distance between the two descriptors',
        transforms: Object.fromEntries(TRANSFORMS.map(([tn, suffix, op]) => [
            tn, `vips ${op[0]} IN OUT${suffix} ${op.slice(1).join(' ')}`
                .trim()])),
        samples: await transformReference(opt.images, SAMPLES),
    };
    let txt = '{\n';
    for (const k of ['generator', 'versions', 'note', 'transforms']) {
        txt += `  ${JSON.stringify(k)}: ${JSON.stringify(tr[k])},\n`;
    }
    txt += '  "samples": {\n' + Object.entries(tr.samples).map(([k, v]) =>
        `    ${JSON.stringify(k)}: {\n` + Object.entries(v).map(([tn, l]) =>
            `      ${JSON.stringify(tn)}: ${JSON.stringify(l)}`).join(',\n')
        + '\n    }').join(',\n') + '\n  }\n}\n';
    fs.writeFileSync(path.join(opt.out, 'transforms.json'), txt);
}

/* ---------------------------------------------------------------------- */
/* Debug dumps: the same nets re-run op by op with face-api's parameters.  */

class Dump {
    constructor(file) {
        this.file = file;
        this.lines = [];
    }

    async add(name, t, n = 8) {
        const v = await t.data();
        let sum = 0;
        let abs = 0;
        for (let i = 0; i < v.length; i++) {
            sum += v[i];
            abs += Math.abs(v[i]);
        }
        const first = Array.from(v.slice(0, n)).map((x) => x.toPrecision(7));
        this.lines.push(`${name}\t[${t.shape.join(',')}]`
            + `\tsum=${sum.toPrecision(9)}`
            + `\tsumabs=${abs.toPrecision(9)}\tfirst=${first.join(' ')}`);
    }

    note(s) {
        this.lines.push(`# ${s}`);
    }

    save() {
        fs.writeFileSync(this.file, this.lines.join('\n') + '\n');
    }
}

function saveRaw(file, typed) {
    fs.writeFileSync(file, Buffer.from(typed.buffer, typed.byteOffset,
        typed.byteLength));
}

function maxDiff(a, b) {
    let m = 0;
    for (let i = 0; i < a.length; i++) {
        m = Math.max(m, Math.abs(a[i] - b[i]));
    }
    return m;
}

async function dumpSsd(dir, input) {
    const p = faceapi.nets.ssdMobilenetv1.params;
    const d = new Dump(path.join(dir, 'sample1-ssd.txt'));
    const netInput = await faceapi.toNetInput(input);
    const keep = [];
    const pw = (x, q, s) => tf.clipByValue(tf.add(
        tf.conv2d(x, q.filters, s, 'same'), q.batch_norm_offset), 0, 6);
    const dw = (x, q, s) => tf.clipByValue(tf.batchNorm(
        tf.depthwiseConv2d(x, q.filters, s, 'same'), q.batch_norm_mean,
        q.batch_norm_variance, q.batch_norm_offset, q.batch_norm_scale,
        0.0010000000474974513), 0, 6);
    const T = (t) => {
        keep.push(t);
        return t;
    };

    d.note('SSD MobileNetV1 on sample1.jpg; NHWC; values after each layer'
        + ' (incl. its ReLU6)');
    const batch = T(tf.cast(netInput.toBatchTensor(512, false), 'float32'));
    await d.add('input_resized_0_255', batch);
    const x = T(tf.sub(tf.div(batch, 127.5), 1));
    await d.add('input_normalised', x);
    saveRaw(path.join(dir, 'sample1-ssd-input-512x512x3.f32'),
        await x.data());

    let out = T(pw(x, p.mobilenetv1.conv_0, [2, 2]));
    await d.add('conv_0', out);
    let conv11 = null;
    for (let i = 1; i <= 13; i++) {
        const q = p.mobilenetv1[`conv_${i}`];
        const s = [2, 4, 6, 12].includes(i) ? [2, 2] : [1, 1];
        out = T(dw(out, q.depthwise_conv, s));
        await d.add(`conv_${i}_depthwise`, out);
        out = T(pw(out, q.pointwise_conv, [1, 1]));
        await d.add(`conv_${i}_pointwise`, out);
        if (i === 11) {
            conv11 = out;
        }
    }

    const pl = p.prediction_layer;
    const ex = [];
    let e = out;
    for (let k = 0; k < 8; k++) {
        e = T(pw(e, pl[`conv_${k}`], k % 2 ? [2, 2] : [1, 1]));
        ex.push(e);
        await d.add(`extra_conv_${k}`, e);
    }

    const feeds = [conv11, out, ex[1], ex[3], ex[5], ex[7]];
    const boxes = [];
    const classes = [];
    for (let j = 0; j < 6; j++) {
        const q = pl[`box_predictor_${j}`];
        const be = q.box_encoding_predictor;
        const bx = T(tf.add(tf.conv2d(feeds[j], be.filters, [1, 1], 'same'),
            be.bias));
        const cl = T(tf.add(tf.conv2d(feeds[j], q.class_predictor.filters,
            [1, 1], 'same'), q.class_predictor.bias));
        await d.add(`box_head_${j}`, bx, 12);
        await d.add(`class_head_${j}`, cl, 9);
        boxes.push(T(tf.reshape(bx, [-1, 4])));
        classes.push(T(tf.reshape(cl, [-1, 3])));
    }
    const allBoxes = T(tf.concat(boxes, 0));
    const allClasses = T(tf.concat(classes, 0));
    await d.add('box_codes_all_5118x4', allBoxes, 16);
    await d.add('class_logits_all_5118x3', allClasses, 15);

    /* decode (section 5.2 step 5), in double precision */
    const anchors = await p.output_layer.extra_dim.data();
    const codes = await allBoxes.data();
    const logits = await allClasses.data();
    const n = logits.length / 3;
    const cand = [];
    for (let i = 0; i < n; i++) {
        const [y0, x0, y1, x1] = anchors.slice(i * 4, i * 4 + 4);
        const ha = y1 - y0;
        const wa = x1 - x0;
        const cy = codes[i * 4] / 10 * ha + y0 + ha / 2;
        const cx = codes[i * 4 + 1] / 10 * wa + x0 + wa / 2;
        const h = Math.exp(codes[i * 4 + 2] / 5) * ha;
        const w = Math.exp(codes[i * 4 + 3] / 5) * wa;
        cand.push({ i, score: 1 / (1 + Math.exp(-logits[i * 3 + 1])),
            box: [cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2] });
    }

    /* cross-check against face-api's own forward pass */
    const ref = faceapi.nets.ssdMobilenetv1.forwardInput(netInput);
    const refScores = await ref.scores[0].data();
    const refBoxes = await ref.boxes[0].data();
    d.note(`check: max |score - face-api score| = ${maxDiff(
        cand.map((c) => c.score), refScores).toExponential(3)}, max |box -`
        + ` face-api box| = ${maxDiff(cand.flatMap((c) => c.box),
            refBoxes).toExponential(3)}`);
    ref.scores.concat(ref.boxes).forEach((t) => t.dispose());

    cand.sort((a, b) => b.score - a.score);
    const top = ['# decoded boxes before NMS, top 10 by score;'
        + ' anchor index, score, ymin xmin ymax xmax (normalised, padded'
        + ' square), anchor ymin xmin ymax xmax'];
    for (const c of cand.slice(0, 10)) {
        top.push(`${c.i}\t${c.score.toPrecision(7)}\t`
            + c.box.map((v) => v.toPrecision(7)).join(' ') + '\t'
            + Array.from(anchors.slice(c.i * 4, c.i * 4 + 4))
                .map((v) => v.toPrecision(7)).join(' '));
    }
    fs.writeFileSync(path.join(dir, 'sample1-ssd-top10.txt'),
        top.join('\n') + '\n');

    d.save();
    keep.forEach((t) => t.dispose());
}

async function dumpLandmarks(dir, input, det) {
    const net = faceapi.nets.faceLandmark68Net;
    const p = net.faceFeatureExtractor.params;
    const d = new Dump(path.join(dir, 'sample1-face0-landmarks.txt'));
    const keep = [];
    const T = (t) => {
        keep.push(t);
        return t;
    };
    const sep = (x, q, s) => tf.add(tf.separableConv2d(x, q.depthwise_filter,
        q.pointwise_filter, s, 'same'), q.bias);

    const [face] = await faceapi.extractFaceTensors(input, [det]);
    keep.push(face);
    d.note(`landmark net, face #0 of sample1; detection crop (floored,`
        + ` clipped) ${face.shape[1]}x${face.shape[0]}`);
    const netInput = await faceapi.toNetInput(face);
    const batch = T(tf.cast(netInput.toBatchTensor(112, true), 'float32'));
    await d.add('input_resized_0_255', batch);
    const x = T(tf.div(tf.sub(batch, [122.782, 117.001, 104.298]), 255));
    await d.add('input_normalised', x);
    saveRaw(path.join(dir, 'sample1-face0-landmark-input-112x112x3.f32'),
        await x.data());

    let out = x;
    for (let b = 0; b < 4; b++) {
        const q = p[`dense${b}`];
        const o1 = T(tf.relu(b === 0
            ? tf.add(tf.conv2d(out, q.conv0.filters, [2, 2], 'same'),
                q.conv0.bias)
            : sep(out, q.conv0, [2, 2])));
        const o2 = T(sep(o1, q.conv1, [1, 1]));
        const o3 = T(sep(T(tf.relu(tf.add(o1, o2))), q.conv2, [1, 1]));
        const o4 = T(sep(T(tf.relu(T(tf.add(o1, T(tf.add(o2, o3)))))),
            q.conv3, [1, 1]));
        await d.add(`dense${b}_out1`, o1);
        out = T(tf.relu(T(tf.add(o1, T(tf.add(o2, T(tf.add(o3, o4))))))));
        await d.add(`dense${b}`, out);
    }
    const pooled = T(tf.avgPool(out, [7, 7], [2, 2], 'valid'));
    await d.add('avgpool', pooled);
    const fc = T(tf.add(tf.matMul(tf.reshape(pooled, [1, -1]),
        net.params.fc.weights), net.params.fc.bias));
    await d.add('fc_136', fc, 136);

    const ref = net.runNet(netInput);
    d.note(`check: max |fc - face-api runNet| = ${maxDiff(await fc.data(),
        await ref.data()).toExponential(3)}`);
    ref.dispose();
    d.save();
    keep.forEach((t) => t.dispose());
}

async function dumpRecognition(dir, tag, batch) {
    const p = faceapi.nets.faceRecognitionNet.params;
    const d = new Dump(path.join(dir, `sample1-face0-recognition-${tag}.txt`));
    const keep = [];
    const T = (t) => {
        keep.push(t);
        return t;
    };
    const layer = (x, q, s, relu, pad) => {
        const o = T(tf.add(tf.mul(T(tf.add(T(tf.conv2d(x, q.conv.filters, s,
            pad)), q.conv.bias)), q.scale.weights), q.scale.biases));
        return relu ? T(tf.relu(o)) : o;
    };
    const residual = (x, q) => T(tf.relu(T(tf.add(layer(layer(x, q.conv1,
        1, true, 'same'), q.conv2, 1, false, 'same'), x))));
    const residualDown = (x, q) => {
        let o = layer(layer(x, q.conv1, 2, true, 'valid'), q.conv2, 1,
            false, 'same');
        let s = T(tf.avgPool(x, 2, 2, 'valid'));
        if (o.shape[1] !== s.shape[1]) {
            o = T(tf.pad(o, [[0, 0], [0, 1], [0, 1], [0, 0]]));
        }
        if (o.shape[3] !== s.shape[3]) {
            s = T(tf.concat([s, T(tf.zerosLike(s))], 3));
        }
        return T(tf.relu(T(tf.add(s, o))));
    };

    d.note(`recognition net, face #0 of sample1, ${tag} chip`);
    await d.add('input_150_0_255', batch);
    const x = T(tf.div(tf.sub(batch, [122.782, 117.001, 104.298]), 255));
    await d.add('input_normalised', x);
    let out = layer(x, p.conv32_down, 2, true, 'valid');
    await d.add('conv32_down', out);
    out = T(tf.maxPool(out, 3, 2, 'valid'));
    await d.add('maxpool', out);
    for (const name of ['conv32_1', 'conv32_2', 'conv32_3', 'conv64_down',
        'conv64_1', 'conv64_2', 'conv64_3', 'conv128_down', 'conv128_1',
        'conv128_2', 'conv256_down', 'conv256_1', 'conv256_2',
        'conv256_down_out']) {
        out = name.endsWith('down') || name.endsWith('down_out')
            ? residualDown(out, p[name]) : residual(out, p[name]);
        await d.add(name, out);
    }
    const mean = T(tf.mean(out, [1, 2]));
    await d.add('mean', mean);
    const desc = T(tf.matMul(mean, p.fc));
    await d.add('descriptor', desc, 128);

    const ref = await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(
        T(tf.squeeze(batch, [0])));
    d.note(`check: max |descriptor - computeFaceDescriptor| = ${maxDiff(
        await desc.data(), ref).toExponential(3)}`);
    d.save();
    keep.forEach((t) => t.dispose());
}

async function dumpDebug(dir, ref) {
    const r = ref.res[0];
    const lm = r.landmarks.positions.map((pt) => [pt.x, pt.y]);

    fs.mkdirSync(dir, { recursive: true });
    await dumpSsd(dir, ref.input);
    await dumpLandmarks(dir, ref.input, r.detection);

    /* face-api chip: aligned rect, crop, centre pad, resize to 150 */
    const rect = r.landmarks.align(null, { useDlibAlignment: true });
    const [face] = await faceapi.extractFaceTensors(ref.input, [rect]);
    const netInput = await faceapi.toNetInput(face);
    const fa = tf.cast(netInput.toBatchTensor(CHIP, true), 'float32');
    saveRaw(path.join(dir, 'sample1-face0-faceapi-chip-150x150x3.f32'),
        await fa.data());
    await dumpRecognition(dir, 'faceapi', fa);
    fa.dispose();
    face.dispose();

    const dl = dlibChip(ref.img, lm);
    saveRaw(path.join(dir, 'sample1-face0-dlib-chip-150x150x3.u8'), dl.chip);
    const db = tf.tensor4d(Float32Array.from(dl.chip), [1, CHIP, CHIP, 3]);
    await dumpRecognition(dir, 'dlib', db);
    db.dispose();

    fs.writeFileSync(path.join(dir, 'README.txt'), DEBUG_README);
}

const DEBUG_README = `Debug dumps of face-api 1.7.15 (tfjs 4.22.0, wasm
backend) on demo/fixtures/sample1.jpg (decoded by libvips, the vips command,
like the engine), made by scripts/face-reference/run (reference.js).  The
nets are re-run op by op with face-api's loaded parameters; each text file
ends with a "check:" line comparing that re-run with face-api's own
output (expect 0 or ~1e-7).  All tensors NHWC, batch 1, RGB.  Not committed.

Text files: one line per layer/block:
  name  [shape]  sum=  sumabs= (sum of |v|)  first= first 8 values (row-major)

sample1-ssd.txt
  input_resized_0_255   toBatchTensor(512, centre=false): zero pad to
                        1920x1920 (bottom), bilinear resize, float 0..255
  input_normalised      x/127.5 - 1 (what conv_0 sees)
  conv_0                3x3/2 conv + offset + ReLU6 (256x256x32)
  conv_N_depthwise      depthwise 3x3 + batch norm + ReLU6, N = 1..13
  conv_N_pointwise      1x1 conv + offset + ReLU6 (conv_11_pointwise feeds
                        box head 0, conv_13_pointwise heads 1 and extras)
  extra_conv_0..7       Prediction/Conv2d_k_pointwise + ReLU6
  box_head_j, class_head_j  raw 1x1 head outputs (no activation) on
                        conv11, conv13, extra 1, 3, 5, 7; first 12 / 9
                        values = first cell's anchors (4 codes / 3 logits
                        per anchor)
  box_codes_all_5118x4, class_logits_all_5118x3  heads flattened
                        (y, x, anchor) and concatenated j0..j5
sample1-ssd-top10.txt   decoded boxes before NMS, top 10 by
                        sigmoid(logit 1): anchor index, score, box (ymin
                        xmin ymax xmax, normalised to the padded square),
                        the anchor
sample1-ssd-input-512x512x3.f32   input_normalised, raw float32

sample1-face0-landmarks.txt  landmark net on face #0's detection crop
  input_resized_0_255   toBatchTensor(112, centre=true) of the floored,
                        clipped detection box
  input_normalised      (x - [122.782, 117.001, 104.298]) / 255
  denseB_out1           first (stride-2) conv of dense block B, after relu
  denseB                dense block output, B = 0..3
  avgpool               7x7/2 valid -> 1x1x256
  fc_136                the 136 raw outputs (x0, y0, x1, y1, ... relative
                        to the 112 square), all of them
sample1-face0-landmark-input-112x112x3.f32   input_normalised, raw float32

sample1-face0-recognition-faceapi.txt  recognition net on face #0's
                        face-api chip (what .withFaceDescriptors() uses)
sample1-face0-recognition-dlib.txt     the same net on face #0's dlib chip
  input_150_0_255       the chip as floats 0..255
  input_normalised      (x - [122.782, 117.001, 104.298]) / 255
  conv32_down           7x7/2 valid conv + bias, scale, relu (72x72x32)
  maxpool               3x3/2 valid (35x35x32)
  conv32_1.. conv256_down_out   output of each residual block
  mean                  mean over the 2x2 positions (256)
  descriptor            fc, the 128 values (all of them)

sample1-face0-faceapi-chip-150x150x3.f32  face-api chip before
                        normalisation (crop of the align() rect, centre
                        padded to a square, bilinear 150x150), float32
sample1-face0-dlib-chip-150x150x3.u8      dlib-mode chip, uint8 RGB
`;

/* ---------------------------------------------------------------------- */
/* bench: timings of one image, median of --runs after --warmup runs.     */

function median(a) {
    const s = [...a].sort((x, y) => x - y);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/* median wall time; with cpu, the median process CPU time goes there */
async function timeIt(runs, fn, cpu) {
    const t = [];
    const c = [];
    for (let i = 0; i < runs; i++) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        await fn();
        t.push(performance.now() - t0);
        const d = process.cpuUsage(c0);
        c.push((d.user + d.system) / 1000);
    }
    if (cpu) {
        cpu.ms = median(c);
    }
    return median(t);
}

async function cmdBench(opt, versions) {
    if (opt.files.length !== 1) {
        usage('bench needs one IMAGE');
    }
    const file = opt.files[0];
    const bytes = fs.readFileSync(file);
    const full = async () => {
        const raw = jpeg.decode(bytes,
            { useTArray: true, formatAsRGBA: false,
                maxMemoryUsageInMB: 1024 });
        const t = tf.tensor3d(raw.data, [raw.height, raw.width, 3], 'int32');
        const r = await faceapi.detectAllFaces(t, ssdOptions())
            .withFaceLandmarks().withFaceDescriptors();
        t.dispose();
        return r;
    };

    for (let i = 0; i < opt.warmup; i++) {
        await full();
    }

    const img = decodeJpegJs(file);
    const input = imageTensor(img);
    const res = await faceapi.detectAllFaces(input, ssdOptions())
        .withFaceLandmarks().withFaceDescriptors();
    const nf = res.length;
    const dets = res.map((r) => r.detection);
    const lmFaces = await faceapi.extractFaceTensors(input, dets);
    const chipRects = res.map((r) => r.landmarks.align(null,
        { useDlibAlignment: true }));
    const chips = await faceapi.extractFaceTensors(input, chipRects);
    const one = tf.tensor3d(dlibChip(img, res[0].landmarks.positions
        .map((p) => [p.x, p.y])).chip, [CHIP, CHIP, 3], 'int32');

    const cpuFull = {};
    const cpuPipe = {};
    const out = {
        versions, image: path.basename(file), width: img.width,
        height: img.height, faces: nf, runs: opt.runs,
        ms: {
            full: await timeIt(opt.runs, full, cpuFull),
            full_no_decode: await timeIt(opt.runs, () => faceapi
                .detectAllFaces(input, ssdOptions()).withFaceLandmarks()
                .withFaceDescriptors(), cpuPipe),
            decode: await timeIt(opt.runs, async () => jpeg.decode(bytes,
                { useTArray: true, formatAsRGBA: false,
                    maxMemoryUsageInMB: 1024 })),
            detect: await timeIt(opt.runs, () => faceapi.nets.ssdMobilenetv1
                .locateFaces(input, ssdOptions())),
            landmarks: await timeIt(opt.runs, async () => {
                for (const f of lmFaces) {
                    await faceapi.nets.faceLandmark68Net.detectLandmarks(f);
                }
            }),
            encode: await timeIt(opt.runs, async () => {
                for (const c of chips) {
                    await faceapi.nets.faceRecognitionNet
                        .computeFaceDescriptor(c);
                }
            }),
        },
    };

    /* process CPU time (all of node's threads): less skewed by load */
    out.cpu_ms = { full: cpuFull.ms, full_no_decode: cpuPipe.ms };

    /* the recognition net alone on one ready 150x150 chip */
    const t0 = performance.now();
    for (let i = 0; i < opt.chips; i++) {
        await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(one);
    }
    out.recognition_faces_per_s = opt.chips * 1000
        / (performance.now() - t0);

    lmFaces.concat(chips, [one, input]).forEach((t) => t.dispose());
    process.stdout.write(JSON.stringify(out) + '\n');
}

/* ---------------------------------------------------------------------- */
/* cli: faceenc's command-line contract answered by face-api, so that     */
/* t/040-face-engine.t can be checked against the reference itself.       */

function jsonFloat(v) {
    if (!Number.isFinite(v)) {
        return '0.0';
    }
    const s = String(Number(v.toPrecision(9)));
    return /[.eE]/.test(s) ? s : `${s}.0`;
}

async function cmdCli(argv) {
    const o = { detector: 'ssd', alignment: 'dlib', min: 0.5, files: [] };
    let modules = null;

    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const val = () => {
            if (i + 1 >= argv.length) {
                usage(`${a} needs a value`);
            }
            return argv[++i];
        };
        if (a === '--detector') {
            o.detector = val();
        } else if (a === '--alignment') {
            o.alignment = val();
        } else if (a === '--min-confidence') {
            o.min = parseFloat(val());
        } else if (a === '--tiles' || a === '--models' || a === '--flip'
                   || a === '--refine') {
            val();               /* options face-api does not have */
        } else if (a === '--node-modules') {
            modules = val();
        } else {
            o.files.push(a);
        }
    }
    if (!modules) {
        usage('cli needs --node-modules');
    }
    await load(modules);

    let status = 0;
    for (const file of o.files) {
        let img;
        try {
            img = decodeAny(file);
            if (!img.width || !img.height) {
                throw new Error('empty image');
            }
        } catch (e) {
            process.stderr.write(`faceenc-js: ${file}: cannot decode: `
                + `${String(e.message || e).split('\n')[0]}\n`);
            status = 1;
            continue;
        }
        const input = imageTensor(img);
        const t0 = performance.now();
        const opts = o.detector === 'tiny'
            ? new faceapi.TinyFaceDetectorOptions({ inputSize: 416,
                scoreThreshold: o.min })
            : new faceapi.SsdMobilenetv1Options({ minConfidence: o.min,
                maxResults: 100 });
        const res = await faceapi.detectAllFaces(input, opts)
            .withFaceLandmarks().withFaceDescriptors();
        const faces = [];
        for (const r of res) {
            const b = r.detection.box;
            const lm = r.landmarks.positions.map((p) => [p.x, p.y]);
            const enc = o.alignment === 'faceapi' ? Array.from(r.descriptor)
                : await descriptorOf(dlibChip(img, lm).chip);
            faces.push(`{"box":[${[b.x, b.y, b.width, b.height]
                .map(jsonFloat).join(',')}],"score":${jsonFloat(
                r.detection.score)},"landmarks":[${lm.map((p) => `[${
                jsonFloat(p[0])},${jsonFloat(p[1])}]`).join(',')}],`
                + `"encoding":[${enc.map(jsonFloat).join(',')}]}`);
        }
        input.dispose();
        const ms = jsonFloat(performance.now() - t0);
        process.stdout.write(`{"file":${JSON.stringify(file)},"width":`
            + `${img.width},"height":${img.height},"faces":[${faces.join(
                ',')}],"ms":{"decode":0.0,"detect":${ms},"landmarks":0.0,`
            + `"encode":0.0}}\n`);
    }
    process.exit(status);
}

async function main() {
    const argv = process.argv.slice(2);
    if (argv[0] === 'cli') {
        await cmdCli(argv.slice(1));
        return;
    }

    const opt = parseArgs(argv);
    if (opt.cmd !== 'fixtures' && opt.cmd !== 'bench') {
        usage(opt.cmd ? `unknown command ${opt.cmd}` : 'no command');
    }
    const versions = await load(opt.modules);
    if (opt.cmd === 'fixtures') {
        await cmdFixtures(opt, versions);
    } else {
        await cmdBench(opt, versions);
    }
}

main().catch((e) => {
    process.stderr.write(`reference.js: ${e && e.stack ? e.stack : e}\n`);
    process.exit(1);
});
