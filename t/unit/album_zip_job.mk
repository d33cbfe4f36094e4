UNIT_TESTS += album_zip_job
album_zip_job_SRCS = src/album_zip/core/album_zip_job.c src/album_zip/core/album_zip_names.c \
                     src/edge/core/edge_json_check.c
album_zip_job_CFLAGS = -Isrc/edge/core
album_zip_job_LIBS = -lcjson
