UNIT_TESTS += image_variant_face_crop
image_variant_face_crop_SRCS = src/image/core/image_variant_face_crop.c
image_variant_face_crop_LIBS = -lm
