'use strict';

// The quality benchmark's sharp side (bench/image_variant_quality.py):
//
//   node cover.js IN OUT [WIDTH HEIGHT [QUALITY]]
//
// IN, EXIF-rotated, to a WIDTH x HEIGHT cover variant (default 256x256,
// centre, sharp's default kernel lanczos3 and shrink-on-load), JPEG at
// QUALITY (default 80) with the module's settings as in server.js:
// progressive, optimised Huffman tables, 4:2:0 chroma, no mozjpeg
// trellis; metadata stripped.

const sharp = require('sharp');

const [input, output, w, h, q] = process.argv.slice(2);

if (!input || !output) {
  console.error('usage: node cover.js IN OUT [WIDTH HEIGHT [QUALITY]]');
  process.exit(2);
}

sharp.cache(false);

sharp(input)
  .rotate()
  .resize(Number(w || 256), Number(h || 256), { fit: 'cover' })
  .jpeg({ quality: Number(q || 80), progressive: true,
          optimiseCoding: true, chromaSubsampling: '4:2:0',
          mozjpeg: false })
  .toFile(output)
  .catch((err) => {
    console.error(err.message);
    process.exit(1);
  });
