#!/bin/sh
# Fetch the face-api weights and sample photos, and nsfwjs's MobileNetV2
# moderation classifier, from the npm registry, once.
#
# Each package is pinned by version and by the sha512 integrity the registry
# published for it; a tarball that does not match is refused.  Nothing here
# runs at request time: the modules read the unpacked files from disk.
#
# usage: scripts/fetch-models.sh <models-dir> <fixtures-dir>

set -eu

pkg='@vladmandic/face-api@1.7.15'
tgz='vladmandic-face-api-1.7.15.tgz'
integrity='WDMmK3CfNLo8jylWqMoQgf4nIst3M0fzx1dnac96wv/dvMTN4DxC/Pq1DGtduDk1lktCamQ3MIDXFnvrdHTXDw=='

models=${1:?models dir}
fixtures=${2:?fixtures dir}
stamp="$models/.face-api-1.7.15"

# fetch <package@version> <tarball> <sha512 base64>: into $work
fetch() {
    echo "fetching $1 from the npm registry"
    (cd "$work" && npm pack --loglevel=error "$1" >/dev/null 2>npm.log) || {
        cat "$work/npm.log" >&2
        echo "fetch-models: npm pack $1 failed" >&2
        exit 1
    }

    got=$(openssl dgst -sha512 -binary "$work/$2" | base64 -w0)
    if [ "$got" != "$3" ]; then
        echo "fetch-models: $2: sha512 mismatch" >&2
        echo "  expected $3" >&2
        echo "  got      $got" >&2
        exit 1
    fi
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ ! -f "$stamp" ] || [ ! -f "$fixtures/sample1.jpg" ]; then
    fetch "$pkg" "$tgz" "$integrity"

    tar -xzf "$work/$tgz" -C "$work" package/model package/demo

    mkdir -p "$models" "$fixtures"
    for net in ssd_mobilenetv1_model tiny_face_detector_model \
               face_landmark_68_model face_recognition_model
    do
        cp "$work/package/model/$net-weights_manifest.json" \
           "$work/package/model/$net.bin" "$models/"
    done
    cp "$work"/package/demo/sample*.jpg "$fixtures/"

    touch "$stamp"
    echo "models in $models, sample photos in $fixtures"
    rm -rf "$work/package"
fi


# nsfwjs ships its Keras topology and weights as JavaScript modules (a
# UMD bundle exporting the model.json object, one exporting the base64 of
# the weights); node unpacks them into a tfjs weights manifest and the
# .bin it names, as the face engine's loader reads them, and keeps the
# topology next to them.

nsfw_pkg='nsfwjs@4.4.0'
nsfw_tgz='nsfwjs-4.4.0.tgz'
nsfw_integrity='krC1fgeTLXtZwgdpKJ0jm7hqv0gTSRQQRL+FhOaxaJ9Wj92t42BO3csO2odwgTAgZgf2RvkwPtp0R8Aa7dc+MA=='
nsfw_net='nsfwjs_mobilenet_v2'
nsfw_stamp="$models/.nsfwjs-4.4.0"

if [ -f "$nsfw_stamp" ]; then
    exit 0
fi

fetch "$nsfw_pkg" "$nsfw_tgz" "$nsfw_integrity"

tar -xzf "$work/$nsfw_tgz" -C "$work" package/dist/models/mobilenet_v2 \
    package/LICENSE

mkdir -p "$models"
NSFW_DIR="$work/package/dist/models/mobilenet_v2" NSFW_OUT="$models" \
NSFW_NET="$nsfw_net" node -e '
const fs = require("fs");
const path = require("path");
const dir = process.env.NSFW_DIR, out = process.env.NSFW_OUT;
const net = process.env.NSFW_NET;
const unwrap = (m) => (m && m.default !== undefined ? m.default : m);
const model = unwrap(require(path.join(dir, "model.min.js")));
const groups = model.weightsManifest;
if (!model.modelTopology || !Array.isArray(groups) || groups.length !== 1
    || groups[0].paths.length !== 1) {
    throw new Error("unexpected model.min.js layout");
}
const shard = groups[0].paths[0];
const b64 = unwrap(require(path.join(dir, shard + ".min.js")));
if (typeof b64 !== "string") throw new Error("unexpected weight bundle");
const bin = Buffer.from(b64, "base64");
let need = 0;
for (const w of groups[0].weights) {
    const n = w.shape.reduce((a, b) => a * b, 1);
    need += n * (w.quantization ? 1 : 4);
}
if (need !== bin.length) {
    throw new Error("weights: " + bin.length + " bytes, manifest says " + need);
}
groups[0].paths = [net + ".bin"];
fs.writeFileSync(path.join(out, net + ".bin"), bin);
fs.writeFileSync(path.join(out, net + "-weights_manifest.json"),
                 JSON.stringify(groups));
fs.writeFileSync(path.join(out, net + "-model.json"),
                 JSON.stringify({ modelTopology: model.modelTopology }));
'
cp "$work/package/LICENSE" "$models/$nsfw_net.LICENSE"

touch "$nsfw_stamp"
echo "nsfwjs MobileNetV2 in $models"
