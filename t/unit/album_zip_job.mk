UNIT_TESTS += album_zip_job
album_zip_job_SRCS = src/album_zip/album_zip_job.c src/album_zip/album_zip_names.c
album_zip_job_LIBS = -lcjson
