# the outbound address policy every module's HTTP client applies
UNIT_TESTS += edge_net
edge_net_SRCS = src/edge/core/edge_net.c
edge_net_CFLAGS = -Isrc/edge/core

# Retry-After: seconds or an HTTP-date
UNIT_TESTS += edge_retry_after
edge_retry_after_SRCS = src/edge/core/edge_retry_after.c
edge_retry_after_CFLAGS = -Isrc/edge/core

# the metrics zone's layout, buckets and text exposition
UNIT_TESTS += edge_metrics
edge_metrics_SRCS = src/edge/core/edge_metrics.c
edge_metrics_CFLAGS = -Isrc/edge/core
