UNIT_TESTS += image_ingest_body image_ingest_sign image_ingest_json \
              image_ingest_store image_ingest_vips
image_ingest_body_SRCS = src/image/core/image_ingest_body.c
image_ingest_body_CFLAGS = -Isrc/image/core -Isrc/edge/core
image_ingest_body_LIBS =
image_ingest_sign_SRCS = src/image/core/image_ingest_sign.c \
                         src/image/core/image_variant_params.c \
                         src/image/core/image_variant_params_query.c \
                         src/image/core/image_variant_params_sign.c \
                         src/image/core/image_variant_params_accept.c
image_ingest_sign_CFLAGS = -Isrc/image/core -Isrc/edge/core
image_ingest_sign_LIBS = -lcrypto
image_ingest_json_SRCS = src/image/core/image_ingest_json.c
image_ingest_json_CFLAGS = -Isrc/image/core
image_ingest_json_LIBS =
image_ingest_store_SRCS = src/image/core/image_ingest_store.c
image_ingest_store_CFLAGS = -Isrc/image/core
image_ingest_store_LIBS = -lcrypto
image_ingest_vips_SRCS = src/image/core/image_ingest_vips.c \
                         src/image/core/image_variant_vips.c \
                         src/image/core/image_variant_vips_load.c \
                         src/image/core/image_variant_vips_resize.c \
                         src/image/core/image_variant_vips_save.c
image_ingest_vips_CFLAGS = -Isrc/image/core $(shell pkg-config --cflags vips)
image_ingest_vips_LIBS = $(shell pkg-config --libs vips) -lpthread -lz
UNIT_TESTS += image_ingest_archive
image_ingest_archive_SRCS = src/image/core/image_ingest_archive.c \
                            src/image/core/image_ingest_json.c
image_ingest_archive_CFLAGS = -Isrc/image/core
image_ingest_archive_LIBS = -larchive
