# moderation: nsfwjs's classifier on the face engine's graph API (the
# network test runs with the weights of "make models", else skips)
UNIT_TESTS += image_moderate
image_moderate_SRCS = src/image/core/image_moderate.c \
                      src/face/core/face_nn.c src/face/core/face_weights.c
image_moderate_CFLAGS = -Isrc/image/core -Isrc/face/core \
                        $(shell pkg-config --cflags libcjson)
image_moderate_LIBS = $(shell pkg-config --libs libcjson) -ldnnl -lgomp -lm
