UNIT_TESTS += face_weights face_geom
face_weights_SRCS = src/face/core/face_weights.c
face_weights_LIBS = -lcjson -lm
face_geom_SRCS = src/face/core/face_nn.c src/face/core/face_align.c \
                 src/face/core/face_nms.c src/face/core/face_ssd.c \
                 src/face/core/face_json.c src/face/core/face_weights.c
face_geom_LIBS = -ldnnl -lgomp -lcjson -lm
UNIT_TESTS += face_image
face_image_SRCS = src/face/core/face_image.c src/face/core/face_exif.c
face_image_LIBS = $(shell pkg-config --libs vips) -ljpeg -lwebpdemux -lwebp \
                  -lm
face_image_CFLAGS = $(shell pkg-config --cflags vips)
UNIT_TESTS += face_nn
face_nn_SRCS = src/face/core/face_nn.c src/face/core/face_weights.c
face_nn_LIBS = -ldnnl -lgomp -lcjson -lm
