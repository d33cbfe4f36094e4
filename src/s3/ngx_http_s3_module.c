
/*
 * ngx_http_s3_module: S3-compatible buckets (AWS S3, Ceph RGW, MinIO,
 * Garage) as private origins.
 *
 *     s3_bucket photos {
 *         endpoint     http://127.0.0.1:7480;
 *         region       eu-west-1;
 *         bucket       concrexit-media;
 *         style        path;
 *         credentials  /etc/photo-edge/s3.cred;
 *     }
 *
 *     location /orig/ { internal; s3_proxy photos; }
 *
 * s3_bucket declares a bucket (http context, any number); other modules
 * find it by name (src/edge/ngx_http_edge_s3.h).  s3_proxy makes a
 * location a signed proxy of the bucket: it sets the proxy module up for
 * the location itself, as if these lines were written there:
 *
 *     proxy_pass                 $s3_proxy_url;
 *     proxy_http_version         1.1;
 *     proxy_pass_request_headers off;
 *     proxy_pass_request_body    off;
 *     proxy_set_header  Host                  $s3_proxy_host;
 *     proxy_set_header  X-Amz-Date            $s3_proxy_date;
 *     proxy_set_header  X-Amz-Content-Sha256  UNSIGNED-PAYLOAD;
 *     proxy_set_header  X-Amz-Security-Token  $s3_proxy_token;
 *     proxy_set_header  Authorization         $s3_proxy_authorization;
 *     proxy_set_header  Connection            "";
 *     proxy_ssl_server_name      on;
 *     proxy_ssl_name             $s3_proxy_host;
 *     proxy_set_header  Range                 $s3_proxy_range;  (and
 *         If-Range, If-None-Match, If-Modified-Since, If-Match,
 *         If-Unmodified-Since)
 *
 * The client's Range and conditional headers go to the store only for a
 * main request whose response nothing transforms: a subrequest (an album
 * member: its headers are the parent's) and a location whose filter
 * answers preconditions itself (image_variant sets
 * r->disable_not_modified, as nginx's own filters read it) need the
 * whole object.
 *
 * so nginx's own upstream machinery (keepalive through an upstream{}
 * block, proxy_cache, timeouts, buffering) carries the request, and
 * nothing else of the client's (Authorization, cookies, x-amz-*) reaches
 * the store.  The URL and the signature are computed per request, for
 * subrequests too, by the variables: the key ($uri minus the location's
 * prefix, or the directive's second argument) encoded once, signed with
 * the method actually sent (HEAD becomes GET when proxy_cache converts
 * it) and a signing key of the request's own UTC day.
 *
 * The store's errors become the client's: 404 stays 404, 416 stays 416,
 * anything else of 400 and above becomes 502 with one [error] naming the
 * bucket, the key and the store's <Code> (SignatureDoesNotMatch,
 * RequestTimeTooSkewed...); the store's error body never reaches the
 * client.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "edge_s3.h"
#include "ngx_http_edge_s3.h"


/* the store's error document is read this far for its <Code> */
#define NGX_HTTP_S3_ERR_BODY  1024


typedef struct {
    ngx_str_t                    bucket_name;
    ngx_http_edge_s3_bucket_t   *bucket;
    ngx_http_complex_value_t    *key;            /* NULL: $uri - prefix */
    ngx_str_t                    prefix;
    ngx_http_handler_pt          proxy_handler;
} ngx_http_s3_loc_conf_t;


typedef struct {
    ngx_http_edge_s3_bucket_t   *bucket;
    ngx_str_t                    key;
    ngx_str_t                    method;         /* the one signed */
    ngx_str_t                    url;            /* proxy_pass's */
    edge_s3_signed_t             signed_req;

    ngx_uint_t                   status;         /* sent instead */
    ngx_uint_t                   store_status;
    size_t                       err_len;
    u_char                       err[NGX_HTTP_S3_ERR_BODY];

    unsigned                     done_signing:1;
    unsigned                     intercept:1;
    unsigned                     replaced:1;
} ngx_http_s3_ctx_t;


typedef struct {
    const char                  *directive;
    const char                  *arg1;
    const char                  *arg2;
} ngx_http_s3_proxy_line_t;


static char *ngx_http_s3_bucket_block(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_s3_bucket_directive(ngx_conf_t *cf,
    ngx_command_t *dummy, void *conf);
static char *ngx_http_s3_bucket_check(ngx_conf_t *cf,
    ngx_http_edge_s3_bucket_t *b);
static char *ngx_http_s3_proxy(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_s3_proxy_setup(ngx_conf_t *cf);
static ngx_int_t ngx_http_s3_proxy_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_s3_sign(ngx_http_request_t *r,
    ngx_http_s3_ctx_t *ctx);
static ngx_int_t ngx_http_s3_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_s3_client_header(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_s3_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_s3_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_s3_send_error(ngx_http_request_t *r,
    ngx_http_s3_ctx_t *ctx);
static void *ngx_http_s3_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_s3_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_s3_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_s3_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_s3_init(ngx_conf_t *cf);


static ngx_command_t  ngx_http_s3_commands[] = {

    { ngx_string("s3_bucket"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_BLOCK|NGX_CONF_TAKE1,
      ngx_http_s3_bucket_block,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("s3_proxy"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_s3_proxy,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_conf_enum_t  ngx_http_s3_styles[] = {
    { ngx_string("path"), EDGE_S3_STYLE_PATH },
    { ngx_string("virtual"), EDGE_S3_STYLE_VIRTUAL },
    { ngx_null_string, 0 }
};


/* the directives inside s3_bucket { }, with nginx's stock setters */

static ngx_command_t  ngx_http_s3_bucket_commands[] = {

    { ngx_string("endpoint"), NGX_CONF_TAKE1, ngx_conf_set_str_slot, 0,
      offsetof(ngx_http_edge_s3_bucket_t, endpoint), NULL },

    { ngx_string("region"), NGX_CONF_TAKE1, ngx_conf_set_str_slot, 0,
      offsetof(ngx_http_edge_s3_bucket_t, region), NULL },

    { ngx_string("bucket"), NGX_CONF_TAKE1, ngx_conf_set_str_slot, 0,
      offsetof(ngx_http_edge_s3_bucket_t, bucket), NULL },

    { ngx_string("style"), NGX_CONF_TAKE1, ngx_conf_set_enum_slot, 0,
      offsetof(ngx_http_edge_s3_bucket_t, style), &ngx_http_s3_styles },

    { ngx_string("credentials"), NGX_CONF_TAKE1, ngx_conf_set_str_slot, 0,
      offsetof(ngx_http_edge_s3_bucket_t, credentials), NULL },

    { ngx_string("upstream"), NGX_CONF_TAKE1, ngx_conf_set_str_slot, 0,
      offsetof(ngx_http_edge_s3_bucket_t, upstream), NULL },

      ngx_null_command
};


/* what s3_proxy writes into its location (see the top of this file) */

static ngx_http_s3_proxy_line_t  ngx_http_s3_proxy_lines[] = {
    { "proxy_pass", "$s3_proxy_url", NULL },
    { "proxy_http_version", "1.1", NULL },
    { "proxy_pass_request_headers", "off", NULL },
    { "proxy_pass_request_body", "off", NULL },
    { "proxy_set_header", "Host", "$s3_proxy_host" },
    { "proxy_set_header", "X-Amz-Date", "$s3_proxy_date" },
    { "proxy_set_header", "X-Amz-Content-Sha256", EDGE_S3_UNSIGNED_PAYLOAD },
    { "proxy_set_header", "X-Amz-Security-Token", "$s3_proxy_token" },
    { "proxy_set_header", "Authorization", "$s3_proxy_authorization" },
    { "proxy_set_header", "Connection", "" },
    { "proxy_ssl_server_name", "on", NULL },
    { "proxy_ssl_name", "$s3_proxy_host", NULL },
    { "proxy_set_header", "Range", "$s3_proxy_range" },
    { "proxy_set_header", "If-Range", "$s3_proxy_if_range" },
    { "proxy_set_header", "If-None-Match", "$s3_proxy_if_none_match" },
    { "proxy_set_header", "If-Modified-Since",
      "$s3_proxy_if_modified_since" },
    { "proxy_set_header", "If-Match", "$s3_proxy_if_match" },
    { "proxy_set_header", "If-Unmodified-Since",
      "$s3_proxy_if_unmodified_since" },
    { NULL, NULL, NULL }
};


#define NGX_HTTP_S3_VAR_URL            0
#define NGX_HTTP_S3_VAR_HOST           1
#define NGX_HTTP_S3_VAR_DATE           2
#define NGX_HTTP_S3_VAR_TOKEN          3
#define NGX_HTTP_S3_VAR_AUTHORIZATION  4

static ngx_http_variable_t  ngx_http_s3_vars[] = {

    { ngx_string("s3_proxy_url"), NULL, ngx_http_s3_variable,
      NGX_HTTP_S3_VAR_URL, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("s3_proxy_host"), NULL, ngx_http_s3_variable,
      NGX_HTTP_S3_VAR_HOST, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("s3_proxy_date"), NULL, ngx_http_s3_variable,
      NGX_HTTP_S3_VAR_DATE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("s3_proxy_token"), NULL, ngx_http_s3_variable,
      NGX_HTTP_S3_VAR_TOKEN, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("s3_proxy_authorization"), NULL, ngx_http_s3_variable,
      NGX_HTTP_S3_VAR_AUTHORIZATION,
      NGX_HTTP_VAR_NOCACHEABLE|NGX_HTTP_VAR_NOHASH, 0 },

    { ngx_string("s3_proxy_range"), NULL, ngx_http_s3_client_header,
      (uintptr_t) "http_range", NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("s3_proxy_if_range"), NULL, ngx_http_s3_client_header,
      (uintptr_t) "http_if_range", NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("s3_proxy_if_none_match"), NULL, ngx_http_s3_client_header,
      (uintptr_t) "http_if_none_match", NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("s3_proxy_if_modified_since"), NULL,
      ngx_http_s3_client_header, (uintptr_t) "http_if_modified_since",
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("s3_proxy_if_match"), NULL, ngx_http_s3_client_header,
      (uintptr_t) "http_if_match", NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("s3_proxy_if_unmodified_since"), NULL,
      ngx_http_s3_client_header, (uintptr_t) "http_if_unmodified_since",
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static ngx_http_module_t  ngx_http_s3_module_ctx = {
    ngx_http_s3_add_variables,             /* preconfiguration */
    ngx_http_s3_init,                      /* postconfiguration */

    ngx_http_s3_create_main_conf,          /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_s3_create_loc_conf,           /* create location configuration */
    ngx_http_s3_merge_loc_conf             /* merge location configuration */
};


ngx_module_t  ngx_http_s3_module = {
    NGX_MODULE_V1,
    &ngx_http_s3_module_ctx,               /* module context */
    ngx_http_s3_commands,                  /* module directives */
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


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


/* s3_bucket <name> { ... } */

static char *
ngx_http_s3_bucket_block(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_edge_s3_main_conf_t *smcf = conf;

    char                        *rv;
    ngx_str_t                   *value;
    ngx_uint_t                   i;
    ngx_conf_t                   save;
    ngx_http_edge_s3_bucket_t   *b, **bp;

    value = cf->args->elts;

    bp = smcf->buckets.elts;

    for (i = 0; i < smcf->buckets.nelts; i++) {
        if (bp[i]->name.len == value[1].len
            && ngx_strncmp(bp[i]->name.data, value[1].data, value[1].len)
               == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate s3_bucket \"%V\"", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    b = ngx_pcalloc(cf->pool, sizeof(ngx_http_edge_s3_bucket_t));
    if (b == NULL) {
        return NGX_CONF_ERROR;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     b->endpoint = { 0, NULL };
     *     b->region = { 0, NULL };
     *     b->bucket = { 0, NULL };
     *     b->credentials = { 0, NULL };
     *     b->upstream = { 0, NULL };
     *     b->checked = 0;
     *     b->failed = 0;
     */

    b->magic = NGX_HTTP_EDGE_S3_MAGIC;
    b->name = value[1];
    b->style = NGX_CONF_UNSET_UINT;
    b->conf_file = cf->conf_file->file.name;
    b->conf_line = cf->conf_file->line;

    save = *cf;
    cf->handler = ngx_http_s3_bucket_directive;
    cf->handler_conf = (char *) b;

    rv = ngx_conf_parse(cf, NULL);

    *cf = save;

    if (rv != NGX_CONF_OK) {
        return rv;
    }

    rv = ngx_http_s3_bucket_check(cf, b);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    bp = ngx_array_push(&smcf->buckets);
    if (bp == NULL) {
        return NGX_CONF_ERROR;
    }

    *bp = b;

    return NGX_CONF_OK;
}


static char *
ngx_http_s3_bucket_directive(ngx_conf_t *cf, ngx_command_t *dummy,
    void *conf)
{
    char           *rv;
    ngx_str_t      *value;
    ngx_command_t  *cmd;

    value = cf->args->elts;

    for (cmd = ngx_http_s3_bucket_commands; cmd->name.len; cmd++) {
        if (cmd->name.len != value[0].len
            || ngx_strncmp(cmd->name.data, value[0].data, value[0].len) != 0)
        {
            continue;
        }

        if (cf->args->nelts != 2) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid number of arguments in \"%V\" of "
                               "s3_bucket", &value[0]);
            return NGX_CONF_ERROR;
        }

        rv = cmd->set(cf, cmd, conf);

        if (rv != NGX_CONF_OK) {
            if (rv != NGX_CONF_ERROR) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\" %s",
                                   &value[0], rv);
            }

            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "unknown directive \"%V\" in s3_bucket", &value[0]);

    return NGX_CONF_ERROR;
}


/* the block read: defaults, checks, the credentials read once */

static char *
ngx_http_s3_bucket_check(ngx_conf_t *cf, ngx_http_edge_s3_bucket_t *b)
{
    int         https, style;
    char        err[EDGE_S3_ERR_LEN];
    size_t      off, len;
    ngx_url_t   u;

    if (b->endpoint.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "s3_bucket \"%V\" has no endpoint", &b->name);
        return NGX_CONF_ERROR;
    }

    if (edge_s3_parse_endpoint((char *) b->endpoint.data, b->endpoint.len,
                               &https, &off, &len, &style, err, sizeof(err))
        != EDGE_S3_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "s3_bucket \"%V\": endpoint \"%V\": %s",
                           &b->name, &b->endpoint, err);
        return NGX_CONF_ERROR;
    }

    b->https = https;
    b->host.data = b->endpoint.data + off;
    b->host.len = len;
    b->endpoint.len = off + len;

    if (b->style == NGX_CONF_UNSET_UINT) {
        b->style = style;
    }

    if (b->bucket.len == 0) {
        b->bucket = b->name;
    }

    if (!edge_s3_valid_bucket((char *) b->bucket.data, b->bucket.len)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "s3_bucket \"%V\": \"%V\" is not a bucket name "
                           "(3 to 63 of a-z 0-9 . -)", &b->name, &b->bucket);
        return NGX_CONF_ERROR;
    }

    if (b->region.len == 0) {
        ngx_str_set(&b->region, "us-east-1");
    }

    if (b->credentials.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "s3_bucket \"%V\" has no credentials file",
                           &b->name);
        return NGX_CONF_ERROR;
    }

    if (ngx_conf_full_name(cf->cycle, &b->credentials, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    b->creds = ngx_pcalloc(cf->pool, sizeof(edge_s3_credentials_t));
    if (b->creds == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_edge_s3_refresh(b, cf->log, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /*
     * A host name, not an address, resolves when the configuration is
     * read, as a proxy_pass without variables does: an implicit upstream
     * that proxy_pass $s3_proxy_url finds by host and port at run time.
     */

    if (b->upstream.len == 0) {
        ngx_memzero(&u, sizeof(ngx_url_t));

        u.url = b->host;
        u.default_port = https ? 443 : 80;
        u.no_resolve = 1;

        if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "s3_bucket \"%V\": %s in \"%V\"", &b->name,
                               u.err ? u.err : "an invalid host", &b->host);
            return NGX_CONF_ERROR;
        }

        if (u.naddrs == 0) {
            ngx_memzero(&u, sizeof(ngx_url_t));

            u.url = b->host;
            u.default_port = https ? 443 : 80;

            if (ngx_http_upstream_add(cf, &u, 0) == NULL) {
                return NGX_CONF_ERROR;
            }
        }
    }

    return NGX_CONF_OK;
}


/* s3_proxy <bucket> [key] */

static char *
ngx_http_s3_proxy(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_s3_loc_conf_t *slcf = conf;

    char                              *rv;
    ngx_str_t                         *value;
    ngx_http_core_loc_conf_t          *clcf;
    ngx_http_compile_complex_value_t   ccv;

    if (slcf->bucket_name.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;
    slcf->bucket_name = value[1];

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (cf->args->nelts == 3) {
        slcf->key = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
        if (slcf->key == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

        ccv.cf = cf;
        ccv.value = &value[2];
        ccv.complex_value = slcf->key;

        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

    } else {
        if (clcf->named || clcf->exact_match || clcf->noname
#if (NGX_PCRE)
            || clcf->regex
#endif
           )
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "s3_proxy in a named, regex or exact "
                               "location needs the key as its second "
                               "argument");
            return NGX_CONF_ERROR;
        }

        slcf->prefix = clcf->name;
    }

    rv = ngx_http_s3_proxy_setup(cf);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    /* proxy_pass set the proxy's content handler: ours runs first */

    slcf->proxy_handler = clcf->handler;
    clcf->handler = ngx_http_s3_proxy_handler;

    return NGX_CONF_OK;
}


/*
 * The proxy module's directives, run for this location as if they were
 * written in it: the module and its commands are found by name, so that
 * nothing of it is linked.
 */

static char *
ngx_http_s3_proxy_setup(ngx_conf_t *cf)
{
    char                      *rv;
    void                      *plcf;
    ngx_str_t                 *arg;
    ngx_uint_t                 i;
    ngx_array_t               *save, args;
    ngx_module_t              *m;
    ngx_command_t             *cmd;
    ngx_http_conf_ctx_t       *ctx;
    ngx_http_s3_proxy_line_t  *line;

    m = NULL;

    for (i = 0; cf->cycle->modules[i]; i++) {
        if (ngx_strcmp(cf->cycle->modules[i]->name, "ngx_http_proxy_module")
            == 0)
        {
            m = cf->cycle->modules[i];
            break;
        }
    }

    if (m == NULL) {
        return "needs nginx's proxy module";
    }

    ctx = cf->ctx;
    plcf = ctx->loc_conf[m->ctx_index];

    if (ngx_array_init(&args, cf->temp_pool, 3, sizeof(ngx_str_t))
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    save = cf->args;
    rv = NGX_CONF_OK;

    for (line = ngx_http_s3_proxy_lines; line->directive; line++) {

        for (cmd = m->commands; cmd->name.len; cmd++) {
            if (ngx_strcmp(cmd->name.data, line->directive) == 0) {
                break;
            }
        }

        if (cmd->name.len == 0) {
            rv = "needs a proxy module with all of its directives";
            break;
        }

        args.nelts = 0;

        arg = ngx_array_push_n(&args, line->arg2 ? 3 : 2);
        if (arg == NULL) {
            rv = NGX_CONF_ERROR;
            break;
        }

        arg[0].data = (u_char *) line->directive;
        arg[0].len = ngx_strlen(line->directive);
        arg[1].data = (u_char *) line->arg1;
        arg[1].len = ngx_strlen(line->arg1);

        if (line->arg2) {
            arg[2].data = (u_char *) line->arg2;
            arg[2].len = ngx_strlen(line->arg2);
        }

        cf->args = &args;
        rv = cmd->set(cf, cmd, plcf);
        cf->args = save;

        if (rv != NGX_CONF_OK) {
            if (rv != NGX_CONF_ERROR) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "s3_proxy: \"%s\" %s (the location sets "
                                   "it already?)", line->directive, rv);
            }

            rv = NGX_CONF_ERROR;
            break;
        }
    }

    cf->args = save;

    return rv;
}


static ngx_int_t
ngx_http_s3_proxy_handler(ngx_http_request_t *r)
{
    ngx_str_t                key;
    ngx_table_elt_t         *h;
    ngx_http_s3_ctx_t       *ctx;
    ngx_http_s3_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_s3_module);

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Allow");
        ngx_str_set(&h->value, "GET, HEAD");

        return NGX_HTTP_NOT_ALLOWED;
    }

    if (slcf->key) {
        if (ngx_http_complex_value(r, slcf->key, &key) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

    } else if (r->uri.len > slcf->prefix.len) {
        key.data = r->uri.data + slcf->prefix.len;
        key.len = r->uri.len - slcf->prefix.len;

    } else {
        key.len = 0;
    }

    /* no key: never a listing of the bucket */

    if (key.len == 0) {
        return NGX_HTTP_NOT_FOUND;
    }

    if (key.len > 1024) {
        return NGX_HTTP_REQUEST_URI_TOO_LARGE;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_s3_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->bucket = slcf->bucket;
    ctx->key = key;

    ngx_http_set_ctx(r, ctx, ngx_http_s3_module);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "s3_proxy: bucket \"%V\" key \"%V\"",
                   &slcf->bucket->name, &key);

    return slcf->proxy_handler(r);
}


/*
 * Signs the request with the method the proxy sends: its own, or GET
 * when proxy_cache turned a HEAD into one (the URL does not depend on
 * it; the signature does, so it is made again if the method changed).
 */

static ngx_int_t
ngx_http_s3_sign(ngx_http_request_t *r, ngx_http_s3_ctx_t *ctx)
{
    u_char              *p;
    char                 err[EDGE_S3_ERR_LEN];
    ngx_str_t            method, *host;
    edge_s3_target_t     t;
    edge_s3_request_t    req;
    edge_sigv4_alloc_t   a;
    ngx_http_edge_s3_bucket_t  *b;

    if (r->upstream && r->upstream->method.len) {
        method = r->upstream->method;

        /* "GET " in nginx's method table */
        while (method.len && method.data[method.len - 1] == ' ') {
            method.len--;
        }

    } else {
        method = r->method_name;
    }

    if (ctx->done_signing && ctx->method.len == method.len
        && ngx_strncmp(ctx->method.data, method.data, method.len) == 0)
    {
        return NGX_OK;
    }

    b = ctx->bucket;

    if (ngx_http_edge_s3_target(b, r->pool, r->connection->log, &t)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_memzero(&req, sizeof(edge_s3_request_t));
    req.method.data = (char *) method.data;
    req.method.len = method.len;
    req.key.data = (char *) ctx->key.data;
    req.key.len = ctx->key.len;
    req.query.data = "";
    req.payload_hash.data = "";
    req.time = ngx_time();

    a.alloc = ngx_http_edge_s3_alloc;
    a.ctx = r->pool;

    if (edge_s3_sign(&t, &req, &a, &ctx->signed_req, err, sizeof(err))
        != EDGE_S3_OK)
    {
        ngx_explicit_memzero(&t.credentials, sizeof(edge_s3_credentials_t));
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "s3_proxy: bucket \"%V\": cannot sign a request: %s",
                      &b->name, err);
        return NGX_ERROR;
    }

    ngx_explicit_memzero(&t.credentials, sizeof(edge_s3_credentials_t));

    ctx->method = method;
    ctx->done_signing = 1;

    /*
     * proxy_pass's URL: to the endpoint's host (or the upstream{} block
     * named), whatever the style: with virtual-hosted style only Host
     * (and the TLS name) carry the bucket, so nothing resolves
     * "<bucket>.<host>" at run time.
     */

    host = b->upstream.len ? &b->upstream : &b->host;

    ctx->url.len = sizeof("https://") - 1 + host->len
                   + ctx->signed_req.uri.len;
    ctx->url.data = ngx_pnalloc(r->pool, ctx->url.len);
    if (ctx->url.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(ctx->url.data, b->https ? "https://" : "http://",
                   b->https ? 8 : 7);
    p = ngx_cpymem(p, host->data, host->len);
    p = ngx_cpymem(p, ctx->signed_req.uri.data, ctx->signed_req.uri.len);
    ctx->url.len = p - ctx->url.data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_s3_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    ngx_str_t           s;
    ngx_http_s3_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_module);

    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    if (ngx_http_s3_sign(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    switch (data) {

    case NGX_HTTP_S3_VAR_URL:
        s = ctx->url;
        break;

    case NGX_HTTP_S3_VAR_HOST:
        s.data = (u_char *) ctx->signed_req.host.data;
        s.len = ctx->signed_req.host.len;
        break;

    case NGX_HTTP_S3_VAR_DATE:
        s.data = (u_char *) ctx->signed_req.amz_date;
        s.len = EDGE_SIGV4_DATE_LEN;
        break;

    case NGX_HTTP_S3_VAR_TOKEN:
        s.data = (u_char *) ctx->signed_req.token.data;
        s.len = ctx->signed_req.token.len;
        break;

    default: /* NGX_HTTP_S3_VAR_AUTHORIZATION */
        s.data = (u_char *) ctx->signed_req.authorization.data;
        s.len = ctx->signed_req.authorization.len;
        break;
    }

    v->data = s.data;
    v->len = s.len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


/*
 * A client header for the store: only in a main request that no filter
 * transforms (see the top of this file); data is "http_<name>".
 */

static ngx_int_t
ngx_http_s3_client_header(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t  name;

    if (r != r->main || r->disable_not_modified
        || ngx_http_get_module_ctx(r, ngx_http_s3_module) == NULL)
    {
        v->not_found = 1;
        return NGX_OK;
    }

    name.data = (u_char *) data;
    name.len = ngx_strlen(name.data);

    return ngx_http_variable_unknown_header(v, &name,
                                            &r->headers_in.headers.part,
                                            sizeof("http_") - 1);
}


/*
 * The store's errors: 404 and 416 keep their status, anything else of
 * 400 and above is a 502; the store's body is read for its <Code> and
 * dropped.
 */

static ngx_int_t
ngx_http_s3_header_filter(ngx_http_request_t *r)
{
    ngx_uint_t          status;
    ngx_http_s3_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_module);

    if (ctx == NULL || ctx->replaced || r->upstream == NULL) {
        return ngx_http_next_header_filter(r);
    }

    status = r->upstream->headers_in.status_n;

    if (status < 400 || r->headers_out.status != status) {
        /* a success, or nginx's own error page (unreachable store) */
        return ngx_http_next_header_filter(r);
    }

    ctx->store_status = status;
    ctx->status = (status == NGX_HTTP_NOT_FOUND
                   || status == NGX_HTTP_RANGE_NOT_SATISFIABLE)
                  ? status : NGX_HTTP_BAD_GATEWAY;
    ctx->intercept = 1;

    r->filter_need_in_memory = 1;

    return NGX_OK;
}


static ngx_int_t
ngx_http_s3_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    size_t              n;
    ngx_uint_t          last;
    ngx_chain_t        *cl;
    ngx_http_s3_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_s3_module);

    if (ctx == NULL || !ctx->intercept || ctx->replaced) {
        return ngx_http_next_body_filter(r, in);
    }

    last = 0;

    for (cl = in; cl; cl = cl->next) {
        if (ngx_buf_in_memory(cl->buf)) {
            n = ngx_min((size_t) (cl->buf->last - cl->buf->pos),
                        NGX_HTTP_S3_ERR_BODY - ctx->err_len);
            ngx_memcpy(ctx->err + ctx->err_len, cl->buf->pos, n);
            ctx->err_len += n;
            cl->buf->pos = cl->buf->last;
        }

        if (cl->buf->in_file) {
            cl->buf->file_pos = cl->buf->file_last;
        }

        if (cl->buf->last_buf || cl->buf->last_in_chain) {
            last = 1;
        }
    }

    if (!last) {
        return NGX_OK;
    }

    return ngx_http_s3_send_error(r, ctx);
}


static ngx_int_t
ngx_http_s3_send_error(ngx_http_request_t *r, ngx_http_s3_ctx_t *ctx)
{
    char          code[64];
    u_char       *key, *end;
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_str_t     body;
    ngx_chain_t   out;

    ctx->replaced = 1;

    if (!edge_s3_error_code((char *) ctx->err, ctx->err_len, code,
                            sizeof(code)))
    {
        ngx_cpystrn((u_char *) code, (u_char *) "no error code",
                    sizeof(code));
    }

    /* the key as sent: %XX for anything unusual, so the log stays a line */

    key = ngx_pnalloc(r->pool, 3 * ctx->key.len);
    if (key == NULL) {
        return NGX_ERROR;
    }

    end = (u_char *) edge_s3_encode_key((char *) key, (char *) ctx->key.data,
                                        ctx->key.len);

    if (ctx->status == NGX_HTTP_BAD_GATEWAY) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "s3_proxy: bucket \"%V\" key \"%*s\": the store "
                      "answered %ui %s", &ctx->bucket->name,
                      (size_t) (end - key), key, ctx->store_status, code);

    } else {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "s3_proxy: bucket \"%V\" key \"%*s\": %ui %s",
                      &ctx->bucket->name, (size_t) (end - key), key,
                      ctx->store_status, code);
    }

    switch (ctx->status) {

    case NGX_HTTP_NOT_FOUND:
        ngx_str_set(&body, "404 Not Found\n");
        break;

    case NGX_HTTP_RANGE_NOT_SATISFIABLE:
        ngx_str_set(&body, "416 Range Not Satisfiable\n");
        break;

    default:
        ngx_str_set(&body, "502 Bad Gateway\n");
        break;
    }

    /* nothing of the store's answer is kept but what is set here */

    if (ngx_list_init(&r->headers_out.headers, r->pool, 2,
                      sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    r->headers_out.status = ctx->status;
    r->headers_out.status_line.len = 0;
    r->headers_out.content_length = NULL;
    r->headers_out.content_length_n = body.len;
    r->headers_out.content_range = NULL;
    r->headers_out.content_encoding = NULL;
    r->headers_out.location = NULL;
    r->headers_out.refresh = NULL;
    r->headers_out.last_modified = NULL;
    r->headers_out.last_modified_time = -1;
    r->headers_out.etag = NULL;
    r->headers_out.expires = NULL;
    r->headers_out.accept_ranges = NULL;
    r->headers_out.www_authenticate = NULL;
    r->headers_out.server = NULL;
    r->headers_out.date = NULL;
    r->headers_out.charset.len = 0;
    r->headers_out.content_type_lowcase = NULL;
    ngx_str_set(&r->headers_out.content_type, "text/plain");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->allow_ranges = 0;

    rc = ngx_http_next_header_filter(r);

    if (rc == NGX_ERROR || rc > NGX_OK) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    if (!r->header_only) {
        b->pos = body.data;
        b->last = body.data + body.len;
        b->memory = 1;

    } else {
        b->sync = 1;
    }

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_next_body_filter(r, &out);
}


static void *
ngx_http_s3_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_edge_s3_main_conf_t  *smcf;

    smcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_edge_s3_main_conf_t));
    if (smcf == NULL) {
        return NULL;
    }

    smcf->magic = NGX_HTTP_EDGE_S3_MAGIC;

    if (ngx_array_init(&smcf->buckets, cf->pool, 4,
                       sizeof(ngx_http_edge_s3_bucket_t *))
        != NGX_OK)
    {
        return NULL;
    }

    return smcf;
}


static void *
ngx_http_s3_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_s3_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_s3_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->bucket_name = { 0, NULL };
     *     conf->bucket = NULL;
     *     conf->key = NULL;
     *     conf->prefix = { 0, NULL };
     *     conf->proxy_handler = NULL;
     */

    return conf;
}


static char *
ngx_http_s3_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_s3_loc_conf_t *conf = child;

    (void) parent;

    /* s3_proxy is not inherited: it belongs to its location */

    if (conf->bucket_name.len && conf->bucket == NULL) {
        conf->bucket = ngx_http_edge_s3_bucket_find(cf, &conf->bucket_name);
        if (conf->bucket == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_s3_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_s3_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_s3_init(ngx_conf_t *cf)
{
    (void) cf;

    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_s3_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_s3_body_filter;

    return NGX_OK;
}
