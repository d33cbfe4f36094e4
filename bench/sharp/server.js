'use strict';

// The image variant benchmark's reference server: Node.js with sharp,
// doing the work of the nginx module's bench presets.
//
//   node server.js PHOTO PORT [WORKERS]
//
// GET /jpeg, /webp, /avif: PHOTO, EXIF-rotated, resized to 256x256 (cover,
// centre), quality 80; JPEG progressive with optimised Huffman tables and
// 4:2:0 chroma, no mozjpeg trellis (libvips then sets mozjpeg's
// libjpeg-turbo-like profile), metadata stripped (sharp's default without
// withMetadata()).  The encoders' settings are the
// module's (src/image/core/image_variant_vips.c): WebP effort 2, AVIF
// effort 0 with 4:2:0 chroma (sharp's own defaults, effort 4 and 4:4:4,
// would be several times slower and measure something else).  The photo
// is read once, at start: the benchmark measures image work, not the
// disk.  WORKERS
// processes (node:cluster, default 2) share the port, as nginx's workers
// do.  Listens on 127.0.0.1 only.

const cluster = require('node:cluster');
const fs = require('node:fs');
const http = require('node:http');

const [photoPath, portArg, workersArg] = process.argv.slice(2);

if (!photoPath || !portArg) {
  console.error('usage: node server.js PHOTO PORT [WORKERS]');
  process.exit(2);
}

const port = Number(portArg);
const workers = Number(workersArg || 2);

if (cluster.isPrimary) {
  for (let i = 0; i < workers; i++) {
    cluster.fork();
  }
  cluster.on('exit', (worker, code, signal) => {
    // a dead worker would skew the numbers: stop rather than limp on
    console.error(`sharp worker ${worker.process.pid} exited: ` +
                  `${signal || code}`);
    process.exit(1);
  });
  process.on('SIGTERM', () => {
    for (const id in cluster.workers) {
      cluster.workers[id].kill();
    }
    process.exit(0);
  });
} else {
  const sharp = require('sharp');

  // nginx's module keeps libvips' operation cache off; with it on, sharp
  // could reuse work across requests for the very same input buffer
  sharp.cache(false);

  const photo = fs.readFileSync(photoPath);

  const encoders = {
    // sharp's defaults spelled out: the module's settings exactly
    jpeg: (img) => img.jpeg({ quality: 80, progressive: true,
                              optimiseCoding: true,
                              chromaSubsampling: '4:2:0',
                              mozjpeg: false }),
    webp: (img) => img.webp({ quality: 80, effort: 2 }),
    avif: (img) => img.avif({ quality: 80, effort: 0,
                              chromaSubsampling: '4:2:0' }),
  };
  const types = { jpeg: 'image/jpeg', webp: 'image/webp',
                  avif: 'image/avif' };

  const server = http.createServer((req, res) => {
    const format = req.url.slice(1);
    const encode = encoders[format];

    if (!encode) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found\n');
      return;
    }

    const img = sharp(photo).rotate()
      .resize(256, 256, { fit: 'cover' });

    encode(img).toBuffer()
      .then((out) => {
        res.writeHead(200, { 'Content-Type': types[format],
                             'Content-Length': out.length });
        res.end(out);
      })
      .catch((err) => {
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(String(err) + '\n');
      });
  });

  server.keepAliveTimeout = 65000;
  server.listen(port, '127.0.0.1');
}
