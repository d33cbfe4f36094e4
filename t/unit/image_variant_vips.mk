UNIT_TESTS += image_variant_vips
image_variant_vips_SRCS = src/image/core/image_variant_vips.c \
                          src/image/core/image_variant_vips_load.c \
                          src/image/core/image_variant_vips_resize.c \
                          src/image/core/image_variant_vips_save.c \
                          src/image/core/image_variant_vips_face.c \
                          src/image/core/image_variant_face_crop.c \
                          t/unit/image_variant_quality.c
image_variant_vips_LIBS = $(shell pkg-config --libs vips) -lpthread -lz -lm
image_variant_vips_CFLAGS = $(shell pkg-config --cflags vips)
