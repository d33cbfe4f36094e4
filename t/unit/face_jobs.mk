UNIT_TESTS += face_jobs face_spool
face_jobs_SRCS = src/face/core/face_jobs.c src/edge/core/edge_json_check.c
face_jobs_CFLAGS = -Isrc/face/core -Isrc/edge/core
face_jobs_LIBS = -lcjson -lm
face_spool_SRCS = src/face/core/face_spool.c
face_spool_CFLAGS = -Isrc/face/core
