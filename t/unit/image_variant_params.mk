UNIT_TESTS += image_variant_params
image_variant_params_SRCS = src/image_variant/image_variant_params.c
image_variant_params_LIBS = -lcrypto
image_variant_params_CFLAGS = -Isrc/common
