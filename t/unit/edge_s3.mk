# S3 requests: URL, key encoding, SigV4 headers, endpoints, credentials
UNIT_TESTS += edge_s3
edge_s3_SRCS = src/edge/core/edge_s3.c src/edge/core/edge_sigv4.c
edge_s3_CFLAGS = -Isrc/edge/core
edge_s3_LIBS = -lcrypto
