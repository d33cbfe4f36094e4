UNIT_TESTS += album_zip_manifest
album_zip_manifest_SRCS = src/album_zip/core/album_zip_manifest.c \
                          src/album_zip/core/album_zip_manifest_lines.c \
                          src/album_zip/core/album_zip_manifest_json.c \
                          src/album_zip/core/album_zip_manifest_url.c \
                          src/album_zip/core/album_zip_manifest_time.c
album_zip_manifest_LIBS = -lcjson
album_zip_manifest_CFLAGS = -Isrc/edge/core
