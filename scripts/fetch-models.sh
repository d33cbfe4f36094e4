#!/bin/sh
# Fetch the face-api weights and sample photos from the npm registry, once.
#
# The package is pinned by version and by the sha512 integrity the registry
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

if [ -f "$stamp" ] && [ -f "$fixtures/sample1.jpg" ]; then
    exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "fetching $pkg from the npm registry"
(cd "$work" && npm pack --loglevel=error "$pkg" >/dev/null 2>npm.log) || {
    cat "$work/npm.log" >&2
    echo "fetch-models: npm pack $pkg failed" >&2
    exit 1
}

got=$(openssl dgst -sha512 -binary "$work/$tgz" | base64 -w0)
if [ "$got" != "$integrity" ]; then
    echo "fetch-models: $tgz: sha512 mismatch" >&2
    echo "  expected $integrity" >&2
    echo "  got      $got" >&2
    exit 1
fi

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
