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
                         src/image/core/image_variant_vips_save.c \
                         src/image/core/image_variant_vips_face.c \
                         src/image/core/image_variant_face_crop.c
image_ingest_vips_CFLAGS = -Isrc/image/core $(shell pkg-config --cflags vips)
image_ingest_vips_LIBS = $(shell pkg-config --libs vips) -lpthread -lz -lm
UNIT_TESTS += image_ingest_archive
image_ingest_archive_SRCS = src/image/core/image_ingest_archive.c \
                            src/image/core/image_ingest_json.c
image_ingest_archive_CFLAGS = -Isrc/image/core
image_ingest_archive_LIBS = -larchive
# JWT verification: keys and tokens made afresh by PyJWT and
# python3-cryptography on each "make unit" (t/unit/jwt_vectors.py writes
# them as a C header under build/)
UNIT_TESTS += image_ingest_jwt
image_ingest_jwt_SRCS = src/image/core/image_ingest_jwt.c
image_ingest_jwt_CFLAGS = -Isrc/image/core -I$(BUILD)/unit/jwt \
                          $(shell pkg-config --cflags libcjson libcrypto)
image_ingest_jwt_LIBS = $(shell pkg-config --libs libcjson libcrypto)
$(BUILD)/unit/test_image_ingest_jwt: $(BUILD)/unit/jwt/jwt_vectors.h
$(BUILD)/unit/jwt/jwt_vectors.h: t/unit/jwt_vectors.py FORCE
	@mkdir -p $(@D)
	/usr/bin/python3 t/unit/jwt_vectors.py $@.tmp 1767225600
	@mv $@.tmp $@
.PHONY: FORCE
FORCE:
# the bucket store's names, Content-MD5, error codes and outcomes
UNIT_TESTS += image_ingest_s3
image_ingest_s3_SRCS = src/image/core/image_ingest_s3.c
image_ingest_s3_CFLAGS = -Isrc/image/core
image_ingest_s3_LIBS = -lcrypto
