
/*
 * ngx_http_album_zip_module: declarations shared by its files.
 */


#ifndef _NGX_HTTP_ALBUM_ZIP_H_INCLUDED_
#define _NGX_HTTP_ALBUM_ZIP_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "album_zip_format.h"
#include "album_zip_names.h"
#include "album_zip_manifest.h"
#include "ngx_http_edge_task.h"


#define NGX_HTTP_ALBUM_ZIP_MISSING_ABORT  0
#define NGX_HTTP_ALBUM_ZIP_MISSING_SKIP   1

/*
 * r->buffered has no bit of its own for third-party filters; the image
 * filter's is free in any location that makes zips.  It keeps nginx from
 * finalizing the request while the archive is incomplete.
 */
#define NGX_HTTP_ALBUM_ZIP_BUFFERED       0x08

/*
 * Output waiting for the client: in nginx's writer, or HTTP/2 frames
 * queued for the stream.  Both end with a write event.  Not TLS's
 * NGX_SSL_BUFFERED: that is also a record kept back until more data comes,
 * and waiting on it would wait forever.
 */
#define ngx_http_album_zip_queued(r)                                          \
    ((r)->connection->buffered                                                \
     & (NGX_HTTP_WRITE_BUFFERED | NGX_HTTP_V2_BUFFERED))

/* album_zip_prefetch is at most 64: members in flight at once */
#define NGX_HTTP_ALBUM_ZIP_WINDOW         65

/* data buffers of one member tracked for early release */
#define NGX_HTTP_ALBUM_ZIP_MEMBER_BUFS    16

/* what a ctx hangs on: the main request or a member subrequest */
#define NGX_HTTP_ALBUM_ZIP_MAIN           1
#define NGX_HTTP_ALBUM_ZIP_MEMBER         2

/* states of the main request */
#define NGX_HTTP_ALBUM_ZIP_PASS           0   /* not an archive */
#define NGX_HTTP_ALBUM_ZIP_MANIFEST       1   /* reading the manifest */
#define NGX_HTTP_ALBUM_ZIP_STREAM         2   /* sending the archive */
#define NGX_HTTP_ALBUM_ZIP_DONE           3   /* sent, or failed */


typedef struct {
    ngx_flag_t            enable;          /* album_zip */
    ngx_flag_t            directory;       /* album_zip_directory */
    ngx_str_t             remote;          /* album_zip_remote */
    ngx_array_t          *allow;           /* album_zip_allow: ngx_str_t */
    ngx_array_t          *s3;              /* album_zip_s3: ngx_keyval_t */
    ngx_array_t          *pass_headers;    /* album_zip_pass_headers */
    ngx_uint_t            prefetch;        /* album_zip_prefetch */
    ngx_uint_t            missing;         /* album_zip_missing */
    ngx_uint_t            max_files;       /* album_zip_max_files */
    off_t                 max_size;        /* album_zip_max_size */
    size_t                max_manifest;    /* album_zip_max_manifest_size */
    size_t                buffer_size;     /* album_zip_buffer_size */
    ngx_thread_pool_t    *thread_pool;     /* album_zip_thread_pool */
    ngx_str_t             thread_pool_name;
    ngx_shm_zone_t       *crc_cache;       /* album_zip_crc_cache */
    ngx_str_t             crc_store;       /* album_zip_crc_store */
    ngx_msec_t            job_timeout;     /* album_zip_job_timeout */
    ngx_msec_t            thread_timeout;  /* album_zip_thread_timeout */
    ngx_flag_t            job;             /* album_zip_job */
    ngx_flag_t            allow_private;   /* album_zip_job_allow_private */
} ngx_http_album_zip_loc_conf_t;


/* a local file, as the CRC cache knows it; zeroed before it is filled */
typedef struct {
    dev_t                 dev;
    ino_t                 ino;
    off_t                 size;
    time_t                mtime;
    long                  mtime_nsec;
} ngx_http_album_zip_file_id_t;


typedef struct {
    ngx_str_t             uri;        /* LOCAL: path; REMOTE: the URL */
    ngx_str_t             args;
    ngx_str_t             source;     /* for log lines and MISSING.txt */
    ngx_uint_t            kind;       /* ALBUM_ZIP_MANIFEST_* */
    ngx_str_t             reason;     /* why it was skipped */
    unsigned              size_known:1;
    unsigned              skipped:1;
    unsigned              trusted:1;  /* may reach internal locations */
    unsigned              has_id:1;   /* a local file: its CRC is cached */
    unsigned              crc_pending:1;  /* its CRC is to be computed */
    ngx_http_album_zip_file_id_t  id;
    ngx_str_t             path;       /* with has_id: NUL-terminated */
} ngx_http_album_zip_member_t;


typedef struct ngx_http_album_zip_ctx_s  ngx_http_album_zip_ctx_t;


/* one per member subrequest */
typedef struct {
    ngx_uint_t            type;       /* NGX_HTTP_ALBUM_ZIP_MEMBER */
    ngx_http_album_zip_ctx_t  *main;
    ngx_http_request_t   *sr;
    ngx_uint_t            index;

    /* the member's record clipped to the requested range */
    off_t                 header_from;
    off_t                 header_to;
    off_t                 data_from;
    off_t                 data_to;
    off_t                 desc_from;
    off_t                 desc_to;

    off_t                 received;   /* member data bytes seen */

    /* a remote member asked for [range_from, range_to) of its data */
    off_t                 range_from;
    off_t                 range_to;
    uint32_t              crc;

    /*
     * The member's own pool (everything nginx allocates for its
     * subrequest), destroyed once the last buffer it produced has been
     * sent; NULL when it shares the main request's pool.
     */
    ngx_pool_t           *pool;
    ngx_buf_t            *last_out;

    /* the file the member was sent from, closed as soon as it is sent */
    ngx_buf_t            *file_buf;
    ngx_fd_t              fd;

    /*
     * Memory its data came in (copy filter, upstream), freed once sent:
     * each allocation once, with the last buffer seen in it.
     */
    ngx_uint_t            nmem;
    u_char               *mem[NGX_HTTP_ALBUM_ZIP_MEMBER_BUFS];
    ngx_buf_t            *mem_buf[NGX_HTTP_ALBUM_ZIP_MEMBER_BUFS];

    unsigned              ranged:1;   /* with a Range of its own */
    unsigned              compute_crc:1;
    unsigned              started:1;  /* header bytes sent */
    unsigned              failed:1;
    unsigned              finished:1;
    unsigned              sent:1;     /* its last byte is out */
} ngx_http_album_zip_member_ctx_t;


struct ngx_http_album_zip_ctx_s {
    ngx_uint_t            type;       /* NGX_HTTP_ALBUM_ZIP_MAIN */
    ngx_uint_t            state;
    ngx_http_request_t   *request;
    ngx_http_album_zip_loc_conf_t  *conf;

    /* client headers held back from the manifest upstream and members */
    ngx_table_elt_t      *range;
    ngx_table_elt_t      *if_range;
    ngx_table_elt_t      *if_none_match;
    unsigned              head:1;

    /* the manifest */
    ngx_buf_t            *manifest;
    ngx_str_t             content_type;

    /* the archive */
    ngx_str_t             name;
    album_zip_archive_t   ar;
    album_zip_entry_t    *entries;
    ngx_http_album_zip_member_t  *members;
    ngx_uint_t            nentries;
    ngx_str_t             etag;
    time_t                last_modified;

    /* what is sent: [start, end) of the archive */
    off_t                 start;
    off_t                 end;

    /* progress */
    ngx_uint_t            first;      /* the first entry in range */
    ngx_uint_t            next;       /* next entry to start */
    ngx_uint_t            last;       /* one past the last entry in range */
    ngx_uint_t            active;     /* members in flight */
    ngx_http_album_zip_member_ctx_t  *inflight[NGX_HTTP_ALBUM_ZIP_WINDOW];
    ngx_uint_t            nclosing;
    ngx_http_album_zip_member_ctx_t  *closing[NGX_HTTP_ALBUM_ZIP_WINDOW];
    ngx_buf_t            *purge;      /* an empty flush buffer, reused */
    off_t                 sent;       /* dynamic layout: bytes so far */
    album_zip_cd_t        cd;
    ngx_buf_t            *cd_buf;
    ngx_str_t             missing_txt;

    /* CRCs of local files computed on the thread pool */
    ngx_http_edge_task_t *crc_task;
    ngx_uint_t            npending;   /* members with crc_pending */
    ngx_uint_t            crc_ahead;  /* members in range: looked at */
    ngx_uint_t            crc_back;   /* all members: looked at */
    unsigned              crc_busy:1; /* the task is running */

    unsigned              content:1;  /* the module is the content handler */
    unsigned              dynamic:1;  /* no Content-Length, no Range */
    unsigned              headers_sent:1;
    unsigned              cd_started:1;
    unsigned              pools_cleanup:1;
    unsigned              failed:1;
    unsigned              skipped:1;  /* some member was skipped */
};


extern ngx_module_t  ngx_http_album_zip_module;


/* ngx_http_album_zip_filter.c */
extern ngx_http_output_header_filter_pt  ngx_http_album_zip_next_header_filter;
extern ngx_http_output_body_filter_pt    ngx_http_album_zip_next_body_filter;

ngx_int_t ngx_http_album_zip_filter_init(ngx_conf_t *cf);
ngx_int_t ngx_http_album_zip_start(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx);
ngx_int_t ngx_http_album_zip_send_headers(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx);
ngx_int_t ngx_http_album_zip_send_error(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx, ngx_uint_t status, ngx_str_t *msg);
void ngx_http_album_zip_swallow(ngx_chain_t *in);

/* ngx_http_album_zip_pump.c */
ngx_int_t ngx_http_album_zip_pump(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx);
ngx_int_t ngx_http_album_zip_send_bytes(ngx_http_request_t *r,
    u_char *data, size_t len, ngx_uint_t last);

/* ngx_http_album_zip_member.c */
ngx_int_t ngx_http_album_zip_member_start(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx, ngx_uint_t i);
ngx_int_t ngx_http_album_zip_member_header(ngx_http_request_t *sr,
    ngx_http_album_zip_member_ctx_t *mctx);
ngx_int_t ngx_http_album_zip_member_body(ngx_http_request_t *sr,
    ngx_http_album_zip_member_ctx_t *mctx, ngx_chain_t *in);
ngx_int_t ngx_http_album_zip_member_fail(ngx_http_request_t *sr,
    ngx_http_album_zip_member_ctx_t *mctx, ngx_uint_t status,
    const char *reason);
ngx_int_t ngx_http_album_zip_changed(ngx_http_request_t *sr,
    ngx_http_album_zip_member_ctx_t *mctx);

/* ngx_http_album_zip_archive.c */
ngx_int_t ngx_http_album_zip_prepare(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx, ngx_str_t *error);
ngx_int_t ngx_http_album_zip_set_headers(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx);
ngx_int_t ngx_http_album_zip_set_unsatisfiable(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx);
void *ngx_http_album_zip_palloc(void *pool, size_t size);

/* ngx_http_album_zip_crc_cache.c */
char *ngx_http_album_zip_crc_cache(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_album_zip_crc_get(ngx_shm_zone_t *zone,
    ngx_http_album_zip_file_id_t *id, uint32_t *crc);
void ngx_http_album_zip_crc_put(ngx_shm_zone_t *zone,
    ngx_http_album_zip_file_id_t *id, uint32_t crc);

/* ngx_http_album_zip_crc.c */
ngx_int_t ngx_http_album_zip_crc_member(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx, ngx_uint_t i);
ngx_int_t ngx_http_album_zip_crc_ahead(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx, ngx_uint_t from);
ngx_int_t ngx_http_album_zip_crc_all(ngx_http_request_t *r,
    ngx_http_album_zip_ctx_t *ctx);

/* ngx_http_album_zip_directory.c */
ngx_int_t ngx_http_album_zip_directory_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_album_zip_unchanged(ngx_http_request_t *r,
    ngx_http_album_zip_member_t *m, ngx_fd_t fd);


/* the serverless "zipper" contract: ngx_http_album_zip_job.c */
ngx_int_t ngx_http_album_zip_job_handler(ngx_http_request_t *r);


#endif /* _NGX_HTTP_ALBUM_ZIP_H_INCLUDED_ */
