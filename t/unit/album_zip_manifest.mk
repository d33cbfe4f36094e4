UNIT_TESTS += album_zip_manifest
album_zip_manifest_SRCS = src/album_zip/core/album_zip_manifest.c
album_zip_manifest_LIBS = -lcjson
album_zip_manifest_CFLAGS = -Isrc/edge/core
