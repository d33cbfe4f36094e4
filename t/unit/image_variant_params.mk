UNIT_TESTS += image_variant_params
image_variant_params_SRCS = src/image/core/image_variant_params.c \
                            src/image/core/image_variant_params_query.c \
                            src/image/core/image_variant_params_sign.c \
                            src/image/core/image_variant_params_accept.c
image_variant_params_LIBS = -lcrypto
image_variant_params_CFLAGS = -Isrc/edge/core
