
/*
 * The Lambda Invoke API's names: a FunctionName as the SDKs send it in
 * "/2015-03-31/functions/<F>/invocations", and the credentials file of
 * lambda_credentials.  Pure C, no nginx types; results point into the
 * input.
 */


#ifndef _LAMBDA_NAMES_H_INCLUDED_
#define _LAMBDA_NAMES_H_INCLUDED_


#include <stddef.h>


#define LAMBDA_NAMES_OK          0
#define LAMBDA_NAMES_EINVAL     (-1)

/* Lambda's limits: a function name, a qualifier, a whole FunctionName */
#define LAMBDA_NAME_MAX_LEN      64
#define LAMBDA_QUALIFIER_MAX_LEN 128
#define LAMBDA_FUNCTION_MAX_LEN  170


typedef struct {
    const char  *data;
    size_t       len;
} lambda_str_t;


typedef struct {
    lambda_str_t  name;
    lambda_str_t  qualifier;     /* empty when none */
    lambda_str_t  account;       /* empty when not given */
    lambda_str_t  region;        /* empty when not given (a full ARN) */
} lambda_function_t;


/*
 * Parses a FunctionName (as nginx decodes the path):
 *
 *     <name>[:<qualifier>]
 *     <account>:function:<name>[:<qualifier>]
 *     arn:<partition>:lambda:<region>:<account>:function:<name>[:<qual>]
 *
 * name: 1-64 of A-Z a-z 0-9 - _; qualifier: 1-128 of those and "$" (a
 * version, "$LATEST" or an alias); account: 12 digits; partition "aws"
 * or "aws-<x>"; region: lowercase letters, digits and "-".  Returns
 * LAMBDA_NAMES_OK or LAMBDA_NAMES_EINVAL.
 */
int lambda_function_parse(const char *s, size_t len, lambda_function_t *f);

/*
 * A qualifier on its own (?Qualifier=): LAMBDA_NAMES_OK or
 * LAMBDA_NAMES_EINVAL.
 */
int lambda_qualifier_check(const char *s, size_t len);

/*
 * One line of a credentials file: "<access key id> <secret access key>"
 * separated by blanks; a blank line or one starting with "#" (after
 * blanks) sets both empty.  The key id is 1-128 of A-Z a-z 0-9, the
 * secret 1-256 printable ASCII characters without blanks.  Returns
 * LAMBDA_NAMES_OK or LAMBDA_NAMES_EINVAL (more or fewer fields, or a bad
 * character).
 */
int lambda_keys_line(const char *line, size_t len, lambda_str_t *key_id,
    lambda_str_t *secret);


#endif /* _LAMBDA_NAMES_H_INCLUDED_ */
