# the outbound address policy every module's HTTP client applies
UNIT_TESTS += edge_net
edge_net_SRCS = src/edge/core/edge_net.c
edge_net_CFLAGS = -Isrc/edge/core
