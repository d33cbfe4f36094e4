# AWS Signature Version 4: canonical request, signing key, verification
UNIT_TESTS += edge_sigv4
edge_sigv4_SRCS = src/edge/core/edge_sigv4.c
edge_sigv4_CFLAGS = -Isrc/edge/core
edge_sigv4_LIBS = -lcrypto
