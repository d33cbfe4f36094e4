UNIT_TESTS += face_jobs face_net face_spool
face_jobs_SRCS = src/face_jobs/face_jobs.c src/common/edge_json_check.c
face_jobs_CFLAGS = -Isrc/face_jobs -Isrc/common
face_jobs_LIBS = -lcjson -lm
face_net_SRCS = src/face_jobs/face_net.c
face_net_CFLAGS = -Isrc/face_jobs
face_spool_SRCS = src/face_jobs/face_spool.c
face_spool_CFLAGS = -Isrc/face_jobs
