
/*
 * ngx_http_lambda_module: the AWS Lambda Invoke API in front of the job
 * endpoints, as the AWS SDKs call it.
 *
 *     location /2015-03-31/functions/ {
 *         lambda_credentials  /etc/photo-edge/lambda.keys;
 *         lambda_function     concrexit-production-facedetection-lambda
 *                             @faces;
 *         lambda_function     zipper  @zips;
 *     }
 *
 * POST /2015-03-31/functions/<F>/invocations goes to the named location
 * of the function <F> names: "<name>", "<name>:<qualifier>",
 * "<account>:function:<name>[:<qualifier>]" or a full ARN, as nginx
 * decodes the path (the SDKs percent-encode the ":"); ?Qualifier= is
 * accepted.  Anything else is 404 ResourceNotFoundException.
 *
 * With lambda_credentials, the request must be signed with AWS Signature
 * Version 4 (service "lambda", the region of lambda_region or any) by a
 * key of the file, over the exact body, with an X-Amz-Date within
 * lambda_clock_skew of the server's clock.  The refusals are Lambda's:
 * 403 MissingAuthenticationTokenException (no Authorization),
 * IncompleteSignatureException (a malformed one),
 * UnrecognizedClientException (an unknown key, or a session token:
 * temporary credentials are not supported), InvalidSignatureException
 * (a wrong signature or scope, a stale date).
 *
 * The body is read here (client_max_body_size of this location applies),
 * before the signature is checked; the named location's handler finds it
 * read.  Every answer carries X-Amzn-RequestId.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_edge_invoke.h"
#include "ngx_http_edge_json.h"
#include "ngx_http_edge_metrics.h"
#include "edge_sigv4.h"
#include "lambda_names.h"


#define NGX_HTTP_LAMBDA_PREFIX  "/2015-03-31/functions/"
#define NGX_HTTP_LAMBDA_SUFFIX  "/invocations"


typedef struct {
    ngx_str_t                    name;
    ngx_str_t                    location;      /* "@faces" */
} ngx_http_lambda_function_t;


typedef struct {
    ngx_str_t                    key_id;
    ngx_str_t                    secret;
} ngx_http_lambda_key_t;


typedef struct {
    ngx_array_t                 *functions;     /* of ..._function_t */
    ngx_array_t                 *keys;          /* NULL: no signature */
    ngx_str_t                    credentials;   /* the file, for logs */
    ngx_str_t                    region;        /* empty: any */
    time_t                       clock_skew;
    ngx_flag_t                   keys_set;
} ngx_http_lambda_loc_conf_t;


static ngx_int_t ngx_http_lambda_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_lambda_init(ngx_conf_t *cf);
static void ngx_http_lambda_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_lambda_dispatch(ngx_http_request_t *r);
static ngx_int_t ngx_http_lambda_auth(ngx_http_request_t *r,
    ngx_http_lambda_loc_conf_t *llcf);
static ngx_int_t ngx_http_lambda_verify(ngx_http_request_t *r,
    ngx_http_lambda_loc_conf_t *llcf, edge_sigv4_auth_t *auth,
    ngx_str_t *secret);
static ngx_int_t ngx_http_lambda_refuse(ngx_http_request_t *r,
    const char *type, const char *msg);
static ngx_http_lambda_function_t *ngx_http_lambda_route(
    ngx_http_request_t *r, ngx_http_lambda_loc_conf_t *llcf,
    ngx_int_t *rc);
static ngx_table_elt_t *ngx_http_lambda_header(ngx_http_request_t *r,
    const char *name, size_t len);
static void *ngx_http_lambda_alloc(void *ctx, size_t size);
static char *ngx_http_lambda_function(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_lambda_credentials(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_lambda_keys_read(ngx_conf_t *cf,
    ngx_http_lambda_loc_conf_t *llcf, ngx_str_t *file);
static void *ngx_http_lambda_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_lambda_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);


static ngx_command_t  ngx_http_lambda_commands[] = {

    { ngx_string("lambda_function"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_lambda_function,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("lambda_credentials"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_lambda_credentials,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("lambda_region"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_lambda_loc_conf_t, region),
      NULL },

    { ngx_string("lambda_clock_skew"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_lambda_loc_conf_t, clock_skew),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_lambda_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_lambda_init,                  /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_lambda_create_loc_conf,       /* create location configuration */
    ngx_http_lambda_merge_loc_conf         /* merge location configuration */
};


ngx_module_t  ngx_http_lambda_module = {
    NGX_MODULE_V1,
    &ngx_http_lambda_module_ctx,           /* module context */
    ngx_http_lambda_commands,              /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* ------------------------------------------------------------------------
 * the request
 */


static ngx_int_t
ngx_http_lambda_handler(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    if (ngx_http_edge_invoke_request_id(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_read_client_request_body(r, ngx_http_lambda_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_lambda_body(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    rc = ngx_http_lambda_dispatch(r);

    /* NGX_DONE: handed to a named location, which took its own reference */

    ngx_http_finalize_request(r, rc);
}


static ngx_int_t
ngx_http_lambda_dispatch(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_http_lambda_function_t  *fn;
    ngx_http_lambda_loc_conf_t  *llcf;

    llcf = ngx_http_get_module_loc_conf(r, ngx_http_lambda_module);

    if (llcf->keys) {
        rc = ngx_http_lambda_auth(r, llcf);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    fn = ngx_http_lambda_route(r, llcf, &rc);
    if (fn == NULL) {
        return rc;
    }

    if (r->method != NGX_HTTP_POST) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "lambda: refused: method %V", &r->method_name);

        return ngx_http_edge_invoke_error(r, NGX_HTTP_NOT_ALLOWED,
                                          "UnknownOperationException",
                                          "Invoke: the method must be POST");
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "lambda: function \"%V\" to \"%V\"", &fn->name,
                   &fn->location);

    (void) ngx_http_named_location(r, &fn->location);

    return NGX_DONE;
}


/* the route: the function the URI names, or NULL with the answer in *rc */

static ngx_http_lambda_function_t *
ngx_http_lambda_route(ngx_http_request_t *r,
    ngx_http_lambda_loc_conf_t *llcf, ngx_int_t *rc)
{
    u_char                      *dst, *src;
    ngx_str_t                    f, arg, q;
    ngx_uint_t                   i;
    lambda_function_t            parsed;
    ngx_http_lambda_function_t  *fn;
    u_char                       msg[LAMBDA_FUNCTION_MAX_LEN
                                     + sizeof("Function not found: ")];

    f.len = 0;

    if (r->uri.len > sizeof(NGX_HTTP_LAMBDA_PREFIX NGX_HTTP_LAMBDA_SUFFIX)
                     - 2
        && ngx_strncmp(r->uri.data, NGX_HTTP_LAMBDA_PREFIX,
                       sizeof(NGX_HTTP_LAMBDA_PREFIX) - 1) == 0
        && ngx_strncmp(r->uri.data + r->uri.len
                       - (sizeof(NGX_HTTP_LAMBDA_SUFFIX) - 1),
                       NGX_HTTP_LAMBDA_SUFFIX,
                       sizeof(NGX_HTTP_LAMBDA_SUFFIX) - 1) == 0)
    {
        f.data = r->uri.data + sizeof(NGX_HTTP_LAMBDA_PREFIX) - 1;
        f.len = r->uri.len - (sizeof(NGX_HTTP_LAMBDA_PREFIX) - 1)
                - (sizeof(NGX_HTTP_LAMBDA_SUFFIX) - 1);
    }

    if (f.len == 0 || f.len > LAMBDA_FUNCTION_MAX_LEN
        || ngx_strlchr(f.data, f.data + f.len, '/') != NULL
        || lambda_function_parse((char *) f.data, f.len, &parsed)
           != LAMBDA_NAMES_OK)
    {
        goto not_found;
    }

    /* ?Qualifier= must agree with a qualifier in the name */

    if (ngx_http_arg(r, (u_char *) "Qualifier", 9, &arg) == NGX_OK) {
        q.data = ngx_pnalloc(r->pool, arg.len);
        if (q.data == NULL) {
            *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            return NULL;
        }

        dst = q.data;
        src = arg.data;
        ngx_unescape_uri(&dst, &src, arg.len, 0);
        q.len = dst - q.data;

        if (lambda_qualifier_check((char *) q.data, q.len)
            != LAMBDA_NAMES_OK
            || (parsed.qualifier.len
                && (parsed.qualifier.len != q.len
                    || ngx_strncmp(parsed.qualifier.data, q.data, q.len)
                       != 0)))
        {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "lambda: refused: Qualifier \"%V\"", &q);

            *rc = ngx_http_lambda_refuse(r, "InvalidParameterValueException",
                      "The derived qualifier from the function name does "
                      "not match the specified qualifier.");
            return NULL;
        }
    }

    fn = llcf->functions ? llcf->functions->elts : NULL;

    for (i = 0; fn && i < llcf->functions->nelts; i++) {
        if (fn[i].name.len == parsed.name.len
            && ngx_strncmp(fn[i].name.data, parsed.name.data,
                           parsed.name.len) == 0)
        {
            return &fn[i];
        }
    }

not_found:

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "lambda: no function for \"%V\"", &r->uri);

    if (f.len == 0 || f.len > LAMBDA_FUNCTION_MAX_LEN) {
        *rc = ngx_http_edge_invoke_error(r, NGX_HTTP_NOT_FOUND,
                                         "ResourceNotFoundException",
                                         "Function not found");
        return NULL;
    }

    *ngx_sprintf(msg, "Function not found: %V", &f) = '\0';

    *rc = ngx_http_edge_invoke_error(r, NGX_HTTP_NOT_FOUND,
                                     "ResourceNotFoundException",
                                     (char *) msg);
    return NULL;
}


/* the signature: NGX_OK, or the refusal sent */

static ngx_int_t
ngx_http_lambda_auth(ngx_http_request_t *r, ngx_http_lambda_loc_conf_t *llcf)
{
    ngx_str_t               secret;
    ngx_uint_t              i;
    ngx_table_elt_t        *h;
    edge_sigv4_auth_t       auth;
    ngx_http_lambda_key_t  *key;
    char                    err[EDGE_SIGV4_ERR_LEN];

    h = r->headers_in.authorization;

    if (h == NULL) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "lambda: refused: no Authorization");

        return ngx_http_lambda_refuse(r,
                                      "MissingAuthenticationTokenException",
                                      "Missing Authentication Token");
    }

    if (ngx_http_lambda_header(r, "x-amz-security-token",
                               sizeof("x-amz-security-token") - 1)
        != NULL)
    {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "lambda: refused: X-Amz-Security-Token (temporary "
                      "credentials are not supported)");

        return ngx_http_lambda_refuse(r, "UnrecognizedClientException",
                   "The security token included in the request is "
                   "invalid: temporary credentials (X-Amz-Security-Token) "
                   "are not supported here.");
    }

    if (edge_sigv4_parse_authorization((char *) h->value.data, h->value.len,
                                       &auth, err, sizeof(err))
        != EDGE_SIGV4_OK)
    {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "lambda: refused: %s", err);

        return ngx_http_lambda_refuse(r, "IncompleteSignatureException",
                                      err);
    }

    if (auth.service.len != 6
        || ngx_strncmp(auth.service.data, "lambda", 6) != 0)
    {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "lambda: refused: signed for service \"%*s\"",
                      auth.service.len, auth.service.data);

        return ngx_http_lambda_refuse(r, "InvalidSignatureException",
                   "Credential should be scoped to correct service: "
                   "'lambda'.");
    }

    if (llcf->region.len
        && (auth.region.len != llcf->region.len
            || ngx_strncmp(auth.region.data, llcf->region.data,
                           llcf->region.len) != 0))
    {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "lambda: refused: signed for region \"%*s\"",
                      auth.region.len, auth.region.data);

        return ngx_http_lambda_refuse(r, "InvalidSignatureException",
                   "Credential should be scoped to a valid region.");
    }

    key = llcf->keys->elts;

    for (i = 0; i < llcf->keys->nelts; i++) {
        if (key[i].key_id.len == auth.access_key.len
            && ngx_strncmp(key[i].key_id.data, auth.access_key.data,
                           auth.access_key.len) == 0)
        {
            break;
        }
    }

    if (i == llcf->keys->nelts) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "lambda: refused: unknown access key \"%*s\"",
                      auth.access_key.len, auth.access_key.data);

        return ngx_http_lambda_refuse(r, "UnrecognizedClientException",
                   "The security token included in the request is "
                   "invalid.");
    }

    secret = key[i].secret;

    return ngx_http_lambda_verify(r, llcf, &auth, &secret);
}


static ngx_int_t
ngx_http_lambda_verify(ngx_http_request_t *r,
    ngx_http_lambda_loc_conf_t *llcf, edge_sigv4_auth_t *auth,
    ngx_str_t *secret)
{
    int                    rc;
    u_char                *q;
    ngx_str_t              body;
    ngx_uint_t             i, n;
    ngx_list_part_t       *part;
    ngx_table_elt_t       *h, *date;
    edge_sigv4_str_t       amz_date;
    edge_sigv4_alloc_t     hooks;
    edge_sigv4_header_t   *headers;
    edge_sigv4_request_t   req;
    char                   hash[65], err[EDGE_SIGV4_ERR_LEN];
    char                   signed_at[EDGE_SIGV4_DATE_LEN + 1];
    char                   limit[EDGE_SIGV4_DATE_LEN + 1];
    char                   now[EDGE_SIGV4_DATE_LEN + 1];
    u_char                 msg[EDGE_SIGV4_ERR_LEN + 3 * 16];

    if (ngx_http_edge_invoke_body(r, &body, 0, "lambda") != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    edge_sigv4_sha256_hex(body.data, body.len, hash);

    /* every header line as received */

    n = 0;

    for (part = &r->headers_in.headers.part; part; part = part->next) {
        n += part->nelts;
    }

    headers = ngx_palloc(r->pool, (n + 1) * sizeof(edge_sigv4_header_t));
    if (headers == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = 0;

    for (part = &r->headers_in.headers.part; part; part = part->next) {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {
            headers[n].name.data = (char *) h[i].key.data;
            headers[n].name.len = h[i].key.len;
            headers[n].value.data = (char *) h[i].value.data;
            headers[n].value.len = h[i].value.len;
            n++;
        }
    }

    ngx_memzero(&req, sizeof(edge_sigv4_request_t));

    req.method.data = (char *) r->method_name.data;
    req.method.len = r->method_name.len;

    /* the path and the query exactly as sent */

    q = ngx_strlchr(r->unparsed_uri.data,
                    r->unparsed_uri.data + r->unparsed_uri.len, '?');

    req.path.data = (char *) r->unparsed_uri.data;
    req.path.len = (q ? q : r->unparsed_uri.data + r->unparsed_uri.len)
                   - r->unparsed_uri.data;
    req.query.data = q ? (char *) q + 1 : "";
    req.query.len = q ? (size_t) (r->unparsed_uri.data
                                  + r->unparsed_uri.len - q - 1)
                      : 0;

    req.headers = headers;
    req.nheaders = n;
    req.payload_hash.data = hash;
    req.payload_hash.len = 64;
    req.flags = EDGE_SIGV4_PATH_DOUBLE | EDGE_SIGV4_PATH_NORMALIZE;

    date = ngx_http_lambda_header(r, "x-amz-date", sizeof("x-amz-date") - 1);

    amz_date.data = date ? (char *) date->value.data : "";
    amz_date.len = date ? date->value.len : 0;

    hooks.alloc = ngx_http_lambda_alloc;
    hooks.ctx = r->pool;

    rc = edge_sigv4_verify(&req, auth, &amz_date, (char *) secret->data,
                           secret->len, (int64_t) ngx_time(),
                           (int64_t) llcf->clock_skew, &hooks, err,
                           sizeof(err));

    switch (rc) {

    case EDGE_SIGV4_OK:
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "lambda: signature of \"%*s\" verified",
                       auth->access_key.len, auth->access_key.data);
        return NGX_OK;

    case EDGE_SIGV4_ENOMEM:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;

    case EDGE_SIGV4_EINVAL:
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "lambda: refused: key \"%*s\": %s",
                      auth->access_key.len, auth->access_key.data, err);

        return ngx_http_lambda_refuse(r, "IncompleteSignatureException",
                                      err);

    case EDGE_SIGV4_EDATE:
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "lambda: refused: key \"%*s\": X-Amz-Date \"%*s\" "
                      "is more than %T s away", auth->access_key.len,
                      auth->access_key.data, amz_date.len, amz_date.data,
                      llcf->clock_skew);

        ngx_memcpy(signed_at, amz_date.data, EDGE_SIGV4_DATE_LEN);
        signed_at[EDGE_SIGV4_DATE_LEN] = '\0';
        edge_sigv4_format_date((int64_t) ngx_time(), now);

        if (ngx_strncmp(amz_date.data, now, EDGE_SIGV4_DATE_LEN) < 0) {
            edge_sigv4_format_date((int64_t) (ngx_time() - llcf->clock_skew),
                                   limit);
            *ngx_sprintf(msg, "Signature expired: %s is now earlier than "
                         "%s (%s - %T min.)", signed_at, limit, now,
                         llcf->clock_skew / 60) = '\0';

        } else {
            edge_sigv4_format_date((int64_t) (ngx_time() + llcf->clock_skew),
                                   limit);
            *ngx_sprintf(msg, "Signature not yet current: %s is still "
                         "later than %s (%s + %T min.)", signed_at, limit,
                         now, llcf->clock_skew / 60) = '\0';
        }

        return ngx_http_lambda_refuse(r, "InvalidSignatureException",
                                      (char *) msg);

    default: /* EDGE_SIGV4_EMISMATCH */
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "lambda: refused: key \"%*s\": %s",
                      auth->access_key.len, auth->access_key.data, err);

        return ngx_http_lambda_refuse(r, "InvalidSignatureException",
                   "The request signature we calculated does not match "
                   "the signature you provided. Check your AWS Secret "
                   "Access Key and signing method. Consult the service "
                   "documentation for details.");
    }
}


/* 403 (400 for a parameter) with Lambda's error shape */

static ngx_int_t
ngx_http_lambda_refuse(ngx_http_request_t *r, const char *type,
    const char *msg)
{
    ngx_int_t   rc;
    ngx_uint_t  status;

    status = (ngx_strcmp(type, "InvalidParameterValueException") == 0)
             ? NGX_HTTP_BAD_REQUEST : NGX_HTTP_FORBIDDEN;

    rc = ngx_http_edge_invoke_error(r, status, type, msg);

    /*
     * NGX_OK means "verified" to the callers: a refusal sent is NGX_AGAIN,
     * which ngx_http_finalize_request() takes as it takes NGX_OK
     */

    return (rc == NGX_OK) ? NGX_AGAIN : rc;
}


/* the first header of that (lowercase) name */

static ngx_table_elt_t *
ngx_http_lambda_header(ngx_http_request_t *r, const char *name, size_t len)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    for (part = &r->headers_in.headers.part; part; part = part->next) {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {
            if (h[i].key.len == len
                && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
            {
                return &h[i];
            }
        }
    }

    return NULL;
}


static void *
ngx_http_lambda_alloc(void *ctx, size_t size)
{
    return ngx_palloc(ctx, size);
}


/* ------------------------------------------------------------------------
 * configuration
 */


static char *
ngx_http_lambda_function(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_lambda_loc_conf_t *llcf = conf;

    ngx_str_t                   *value;
    ngx_uint_t                   i;
    lambda_function_t            parsed;
    ngx_http_core_loc_conf_t    *clcf;
    ngx_http_lambda_function_t  *fn;

    value = cf->args->elts;

    if (lambda_function_parse((char *) value[1].data, value[1].len, &parsed)
        != LAMBDA_NAMES_OK
        || parsed.name.len != value[1].len)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "lambda_function: \"%V\" is not a function name "
                           "(1 to 64 of A-Z a-z 0-9 - _)", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (value[2].len < 2 || value[2].data[0] != '@') {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "lambda_function: \"%V\" is not a named "
                           "location (\"@name\")", &value[2]);
        return NGX_CONF_ERROR;
    }

    if (llcf->functions == NULL) {
        llcf->functions = ngx_array_create(cf->pool, 2,
                                         sizeof(ngx_http_lambda_function_t));
        if (llcf->functions == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    fn = llcf->functions->elts;

    for (i = 0; i < llcf->functions->nelts; i++) {
        if (fn[i].name.len == value[1].len
            && ngx_strncmp(fn[i].name.data, value[1].data, value[1].len)
               == 0)
        {
            return "is duplicate";
        }
    }

    fn = ngx_array_push(llcf->functions);
    if (fn == NULL) {
        return NGX_CONF_ERROR;
    }

    fn->name = value[1];
    fn->location = value[2];

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_lambda_handler;

    return NGX_CONF_OK;
}


static char *
ngx_http_lambda_credentials(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_lambda_loc_conf_t *llcf = conf;

    ngx_str_t  *value, file;

    if (llcf->keys_set) {
        return "is duplicate";
    }

    llcf->keys_set = 1;
    value = cf->args->elts;

    if (value[1].len == 3 && ngx_strncmp(value[1].data, "off", 3) == 0) {
        llcf->keys = NULL;
        return NGX_CONF_OK;
    }

    file = value[1];

    if (ngx_conf_full_name(cf->cycle, &file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    llcf->credentials = file;

    return ngx_http_lambda_keys_read(cf, llcf, &file);
}


/* the whole file at configuration time: "<key id> <secret>" lines */

static char *
ngx_http_lambda_keys_read(ngx_conf_t *cf, ngx_http_lambda_loc_conf_t *llcf,
    ngx_str_t *file)
{
    u_char                 *buf, *line, *end, *nl;
    ssize_t                 n;
    ngx_fd_t                fd;
    ngx_uint_t              lineno;
    ngx_file_info_t         fi;
    lambda_str_t            id, secret;
    ngx_http_lambda_key_t  *key;

    fd = ngx_open_file(file->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "lambda_credentials: cannot open \"%V\"", file);
        return NGX_CONF_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR
        || ngx_file_size(&fi) > 1024 * 1024)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "lambda_credentials: \"%V\": cannot stat, or "
                           "larger than 1 MiB", file);
        (void) ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    buf = ngx_pnalloc(cf->temp_pool, (size_t) ngx_file_size(&fi) + 1);
    if (buf == NULL) {
        (void) ngx_close_file(fd);
        return NGX_CONF_ERROR;
    }

    n = ngx_read_fd(fd, buf, (size_t) ngx_file_size(&fi));
    (void) ngx_close_file(fd);

    if (n != (ssize_t) ngx_file_size(&fi)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "lambda_credentials: cannot read \"%V\"", file);
        return NGX_CONF_ERROR;
    }

    llcf->keys = ngx_array_create(cf->pool, 4,
                                  sizeof(ngx_http_lambda_key_t));
    if (llcf->keys == NULL) {
        return NGX_CONF_ERROR;
    }

    end = buf + n;
    lineno = 0;

    for (line = buf; line < end; line = nl + 1) {
        nl = ngx_strlchr(line, end, '\n');
        if (nl == NULL) {
            nl = end;
        }

        lineno++;

        if (lambda_keys_line((char *) line, nl - line, &id, &secret)
            != LAMBDA_NAMES_OK)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "lambda_credentials: \"%V\", line %ui: not "
                               "\"<access key id> <secret access key>\"",
                               file, lineno);
            return NGX_CONF_ERROR;
        }

        if (id.len == 0) {
            continue;
        }

        key = ngx_array_push(llcf->keys);
        if (key == NULL) {
            return NGX_CONF_ERROR;
        }

        key->key_id.data = ngx_pstrdup(cf->pool,
                                       &(ngx_str_t) { id.len,
                                                      (u_char *) id.data });
        key->key_id.len = id.len;
        key->secret.data = ngx_pstrdup(cf->pool,
                                       &(ngx_str_t) { secret.len,
                                                      (u_char *) secret.data
                                                    });
        key->secret.len = secret.len;

        if (key->key_id.data == NULL || key->secret.data == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    ngx_explicit_memzero(buf, n);

    if (llcf->keys->nelts == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "lambda_credentials: \"%V\" has no key", file);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* the metrics count the responses of the Invoke API's locations */

static ngx_int_t
ngx_http_lambda_init(ngx_conf_t *cf)
{
    return ngx_http_edge_metrics_watch(cf, EDGE_METRICS_LAMBDA, NULL,
                                       ngx_http_lambda_handler);
}


static void *
ngx_http_lambda_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_lambda_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_lambda_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->functions = NULL;
     *     conf->keys = NULL;
     *     conf->credentials = { 0, NULL };
     *     conf->region = { 0, NULL };
     *     conf->keys_set = 0;
     */

    conf->clock_skew = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_http_lambda_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_lambda_loc_conf_t *prev = parent;
    ngx_http_lambda_loc_conf_t *conf = child;

    if (!conf->keys_set) {
        conf->keys = prev->keys;
        conf->credentials = prev->credentials;
        conf->keys_set = prev->keys_set;
    }

    ngx_conf_merge_str_value(conf->region, prev->region, "");
    ngx_conf_merge_sec_value(conf->clock_skew, prev->clock_skew, 900);

    if (conf->clock_skew < 60 || conf->clock_skew > 3600) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "lambda_clock_skew: must be from 1m to 1h");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}
