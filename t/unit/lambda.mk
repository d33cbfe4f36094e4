# the Lambda front's names: FunctionName forms, the credentials file
UNIT_TESTS += lambda_names
lambda_names_SRCS = src/lambda/core/lambda_names.c
lambda_names_CFLAGS = -Isrc/lambda/core
