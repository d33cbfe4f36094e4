UNIT_TESTS += album_zip_format album_zip_names
album_zip_format_SRCS = src/album_zip/core/album_zip_format.c src/album_zip/core/album_zip_names.c
album_zip_format_LIBS = -ldeflate -larchive
album_zip_names_SRCS = src/album_zip/core/album_zip_names.c
album_zip_names_LIBS =

UNIT_TESTS += album_zip_dir
album_zip_dir_SRCS = src/album_zip/core/album_zip_dir.c
album_zip_dir_LIBS =

UNIT_TESTS += album_zip_crc_store
album_zip_crc_store_SRCS = src/album_zip/core/album_zip_crc_store.c src/album_zip/core/album_zip_format.c
album_zip_crc_store_LIBS = -ldeflate -lz
