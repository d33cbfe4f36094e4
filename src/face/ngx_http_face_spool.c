/*
 * ngx_http_face_module: the face jobs' spool.
 *
 * Spooled jobs are run by whichever worker claims them first: every
 * worker scans the spool (at start, every second while idle, and at once
 * after it accepted or finished a job) and takes a job file with an
 * exclusive flock().  The lock goes with the process, so a job whose
 * worker died is free for the next scan; a job that disappeared or was
 * renamed between the scan and the lock is skipped.
 *
 * A crash between the write of a temporary file and its rename leaves it
 * in tmp/ (the client never heard 202: nothing is lost); the scans, the
 * first one of each worker and one a minute after, remove those not
 * modified for a minute (FACE_SPOOL_TMP_STALE), so that a file a live
 * worker, of this generation or an old one, is writing is never removed.
 * Were a disk to stall a write for that long, its rename fails and the
 * client hears 500: still nothing accepted is lost.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <dirent.h>
#include <sys/file.h>

#include "ngx_http_face.h"
#include "face_spool.h"


#define NGX_HTTP_FACE_SCAN_MS          1000

/* a job file larger than this is not a job file */
#define NGX_HTTP_FACE_MAX_JOB_FILE     (64 * 1024 * 1024)


/* a scan of the spool for a job to claim */

typedef struct {
    ngx_http_face_spool_t       *spool;
    char                        *dir;
    char                        *tmp_dir;
    ngx_uint_t                   sweep;         /* tmp/ too */

    /* set by the thread */
    ngx_uint_t                   swept;         /* files removed */
    ngx_err_t                    sweep_err;
    const char                  *sweep_what;
    ngx_fd_t                     fd;
    char                         name[FACE_SPOOL_NAME_LEN];
    u_char                      *data;          /* malloc()ed */
    size_t                       len;
    ngx_err_t                    err;
    const char                  *what;
} ngx_http_face_scan_t;


static void ngx_http_face_spool_timer(ngx_event_t *ev);
static void ngx_http_face_scan_thread(void *data, ngx_log_t *log);
static ngx_int_t ngx_http_face_scan_list(ngx_http_face_scan_t *scan,
    char ***list, size_t *nlist);
static ngx_int_t ngx_http_face_scan_claim(ngx_http_face_scan_t *scan,
    const char *name, ngx_log_t *log);
static void ngx_http_face_sweep_thread(ngx_http_face_scan_t *scan,
    ngx_log_t *log);
static int ngx_http_face_scan_cmp(const void *a, const void *b);
static void ngx_http_face_scan_done(void *data);
static void ngx_http_face_spool_load(ngx_http_face_spool_t *spool,
    ngx_http_face_scan_t *scan);
static ngx_int_t ngx_http_face_spool_paths(ngx_http_face_job_t *job,
    ngx_http_face_spool_t *spool, const char *name);
static void ngx_http_face_spool_progress(ngx_http_face_job_t *job,
    u_char *state);


/* ------------------------------------------------------------------------
 * the spool: every worker scans it for jobs to claim
 */


ngx_int_t
ngx_http_face_jobs_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                  i;
    ngx_http_face_scan_t       *scan;
    ngx_http_edge_task_t       *t;
    ngx_http_face_spool_t      *spool;
    ngx_http_face_main_conf_t  *fmcf;

    fmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_face_module);

    spool = fmcf->spools->elts;

    for (i = 0; i < fmcf->spools->nelts; i++) {

        t = ngx_http_edge_task_alloc(cycle->pool,
                                     sizeof(ngx_http_face_scan_t));
        if (t == NULL) {
            return NGX_ERROR;
        }

        scan = t->data;
        scan->spool = &spool[i];
        scan->dir = ngx_http_face_path(cycle->pool, &spool[i].path->name,
                                       NULL, NULL);
        scan->tmp_dir = ngx_http_face_path(cycle->pool,
                                           &spool[i].path->name, "tmp",
                                           NULL);
        if (scan->dir == NULL || scan->tmp_dir == NULL) {
            return NGX_ERROR;
        }

        t->task->handler = ngx_http_face_scan_thread;
        t->log = spool[i].log;
        t->module = "face job";
        t->work = "spool scan";
        t->name = spool[i].path->name;
        t->timeout = spool[i].conf->thread_timeout;
        t->done = ngx_http_face_scan_done;

        spool[i].timer.handler = ngx_http_face_spool_timer;
        spool[i].timer.data = t;
        spool[i].timer.log = spool[i].log;
        spool[i].timer.cancelable = 1;
        spool[i].busy = 0;
        spool[i].sweep = 0;    /* the first scan sweeps tmp/ */

        /* workers start at slightly different times: fewer collisions */
        ngx_add_timer(&spool[i].timer, 10 + ngx_random() % 100);
    }

    return NGX_OK;
}


static void
ngx_http_face_spool_timer(ngx_event_t *ev)
{
    ngx_http_edge_task_t *t = ev->data;

    ngx_http_face_scan_t   *scan;
    ngx_http_face_spool_t  *spool;

    scan = t->data;
    spool = scan->spool;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    if (spool->busy) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, spool->log, 0,
                       "face job spool \"%V\": busy, scan later",
                       &spool->path->name);

        ngx_add_timer(ev, NGX_HTTP_FACE_SCAN_MS);
        return;
    }

    scan->fd = NGX_INVALID_FILE;
    scan->data = NULL;
    scan->len = 0;
    scan->what = NULL;
    scan->err = 0;
    scan->sweep = (ngx_time() >= spool->sweep);
    scan->swept = 0;
    scan->sweep_what = NULL;
    scan->sweep_err = 0;

    if (ngx_http_edge_task_post(t, spool->conf->thread_pool,
                                &spool->conf->thread_pool_name)
        != NGX_OK)
    {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, spool->log, 0,
                       "face job spool \"%V\": the thread pool queue is "
                       "full, scan later", &spool->path->name);

        ngx_add_timer(ev, NGX_HTTP_FACE_SCAN_MS);
        return;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, spool->log, 0,
                   "face job spool \"%V\": scan started%s",
                   &spool->path->name,
                   scan->sweep ? ", with a sweep of tmp/" : "");

    spool->busy = 1;

    if (scan->sweep) {
        spool->sweep = ngx_time() + FACE_SPOOL_TMP_STALE;
    }
}


/* scan now, if this worker is idle; else it scans when it is done */

void
ngx_http_face_spool_kick(ngx_http_face_spool_t *spool)
{
    if (spool->busy || ngx_exiting) {
        return;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, spool->log, 0,
                   "face job spool \"%V\": scan now", &spool->path->name);

    if (spool->timer.timer_set) {
        ngx_del_timer(&spool->timer);
    }

    ngx_http_face_spool_timer(&spool->timer);
}


/* in a thread: the oldest job file nobody holds, locked and read */

static void
ngx_http_face_scan_thread(void *data, ngx_log_t *log)
{
    ngx_http_face_scan_t *scan = data;

    char       **names;
    size_t       n, i;

    if (scan->sweep) {
        ngx_http_face_sweep_thread(scan, log);
    }

    if (ngx_http_face_scan_list(scan, &names, &n) != NGX_OK) {
        return;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_CORE, log, 0,
                   "face job spool \"%s\": %uz job files found", scan->dir,
                   n);

    /* the oldest first: names start with the time */
    if (n) {
        qsort(names, n, sizeof(char *), ngx_http_face_scan_cmp);
    }

    for (i = 0; i < n && scan->data == NULL; i++) {
        if (ngx_http_face_scan_claim(scan, names[i], log) == NGX_ERROR) {
            break;
        }
    }

    for (i = 0; i < n; i++) {
        free(names[i]);
    }

    free(names);
}


/* in a thread: the names of the job files in the spool, malloc()ed */

static ngx_int_t
ngx_http_face_scan_list(ngx_http_face_scan_t *scan, char ***list,
    size_t *nlist)
{
    DIR             *dir;
    char           **names, **more;
    size_t           n, size;
    struct dirent   *de;

    dir = opendir(scan->dir);
    if (dir == NULL) {
        scan->what = "opendir";
        scan->err = ngx_errno;
        return NGX_ERROR;
    }

    names = NULL;
    n = 0;
    size = 0;

    while ((de = readdir(dir)) != NULL) {
        if (!face_spool_name_ok(de->d_name)) {
            continue;
        }

        if (n == size) {
            size = size ? size * 2 : 16;
            more = realloc(names, size * sizeof(char *));
            if (more == NULL) {
                break;
            }

            names = more;
        }

        names[n] = strdup(de->d_name);
        if (names[n] == NULL) {
            break;
        }

        n++;
    }

    (void) closedir(dir);

    *list = names;
    *nlist = n;

    return NGX_OK;
}


/*
 * In a thread: a job file locked and read into scan->data (NGX_OK), held
 * by another worker or gone (NGX_DECLINED), or no memory or a failed
 * read: the scan stops (NGX_ERROR).
 */

static ngx_int_t
ngx_http_face_scan_claim(ngx_http_face_scan_t *scan, const char *name,
    ngx_log_t *log)
{
    char          path[NGX_MAX_PATH];
    ssize_t       r;
    ngx_fd_t      fd;
    struct stat   st, sp;

    if ((size_t) snprintf(path, sizeof(path), "%s/%s", scan->dir, name)
        >= sizeof(path))
    {
        return NGX_DECLINED;
    }

    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd == -1) {
        ngx_log_debug1(NGX_LOG_DEBUG_CORE, log, ngx_errno,
                       "face job %s: gone before the lock, skipped", name);
        return NGX_DECLINED;
    }

    if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
        ngx_log_debug1(NGX_LOG_DEBUG_CORE, log, ngx_errno,
                       "face job %s: lock busy, skipped", name);
        (void) close(fd);
        return NGX_DECLINED;
    }

    /* still there, and still this file: not finished meanwhile */

    if (fstat(fd, &st) == -1 || stat(path, &sp) == -1
        || st.st_ino != sp.st_ino || st.st_dev != sp.st_dev
        || st.st_size <= 0 || st.st_size > NGX_HTTP_FACE_MAX_JOB_FILE)
    {
        ngx_log_debug1(NGX_LOG_DEBUG_CORE, log, 0,
                       "face job %s: finished, replaced or not a job file "
                       "meanwhile, skipped", name);
        (void) close(fd);
        return NGX_DECLINED;
    }

    scan->data = malloc(st.st_size);
    if (scan->data == NULL) {
        (void) close(fd);
        return NGX_ERROR;
    }

    r = pread(fd, scan->data, st.st_size, 0);

    if (r != st.st_size) {
        scan->what = "read";
        scan->err = (r == -1) ? ngx_errno : NGX_EINVAL;
        free(scan->data);
        scan->data = NULL;
        (void) close(fd);
        return NGX_ERROR;
    }

    scan->fd = fd;
    scan->len = st.st_size;
    ngx_cpystrn((u_char *) scan->name, (u_char *) name, sizeof(scan->name));

    ngx_log_debug2(NGX_LOG_DEBUG_CORE, log, 0,
                   "face job %s: locked and read, %uz bytes", name,
                   scan->len);

    return NGX_OK;
}


/* in a thread: the temporary files a crash left in tmp/ */

static void
ngx_http_face_sweep_thread(ngx_http_face_scan_t *scan, ngx_log_t *log)
{
    DIR            *dir;
    time_t          now;
    struct stat     st;
    struct dirent  *de;

    dir = opendir(scan->tmp_dir);

    if (dir == NULL) {
        /* no job was ever written */
        if (ngx_errno != NGX_ENOENT) {
            scan->sweep_what = "opendir";
            scan->sweep_err = ngx_errno;
        }

        return;
    }

    now = time(NULL);

    while ((de = readdir(dir)) != NULL) {

        if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1
            || !S_ISREG(st.st_mode)
            || !face_spool_tmp_stale(de->d_name, (int64_t) st.st_mtime,
                                     (int64_t) now))
        {
            continue;
        }

        if (unlinkat(dirfd(dir), de->d_name, 0) == 0) {
            ngx_log_debug2(NGX_LOG_DEBUG_CORE, log, 0,
                           "face job spool: stale \"%s/%s\" removed",
                           scan->tmp_dir, de->d_name);
            scan->swept++;

        } else if (ngx_errno != NGX_ENOENT) {
            /* ENOENT: another worker was first */
            scan->sweep_what = "unlink in";
            scan->sweep_err = ngx_errno;
        }
    }

    (void) closedir(dir);

    ngx_log_debug2(NGX_LOG_DEBUG_CORE, log, 0,
                   "face job spool: sweep of \"%s\" done, %ui removed",
                   scan->tmp_dir, scan->swept);
}


static int
ngx_http_face_scan_cmp(const void *a, const void *b)
{
    return strcmp(*(char * const *) a, *(char * const *) b);
}


static void
ngx_http_face_scan_done(void *data)
{
    ngx_http_face_scan_t   *scan;
    ngx_http_face_spool_t  *spool;

    scan = data;
    spool = scan->spool;

    if (scan->what) {
        ngx_log_error(NGX_LOG_CRIT, spool->log, scan->err,
                      "face job: spool: %s \"%s\" failed", scan->what,
                      scan->dir);
    }

    if (scan->sweep_what) {
        ngx_log_error(NGX_LOG_ERR, spool->log, scan->sweep_err,
                      "face job: spool: %s \"%s\" failed",
                      scan->sweep_what, scan->tmp_dir);
    }

    if (scan->swept) {
        ngx_log_error(NGX_LOG_NOTICE, spool->log, 0,
                      "face job: spool: removed %ui stale temporary "
                      "file%s from \"%s\" (left by a crash before the job "
                      "was accepted)", scan->swept,
                      (scan->swept == 1) ? "" : "s", scan->tmp_dir);
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, spool->log, 0,
                   "face job spool \"%V\": scan done, %s",
                   &spool->path->name,
                   scan->data ? scan->name : "nothing to claim");

    if (scan->data == NULL) {
        spool->busy = 0;

        if (!ngx_exiting) {
            ngx_add_timer(&spool->timer, NGX_HTTP_FACE_SCAN_MS);
        }

        return;
    }

    ngx_http_face_spool_load(spool, scan);

    free(scan->data);
    scan->data = NULL;

    if (!spool->timer.timer_set && !ngx_exiting) {
        ngx_add_timer(&spool->timer, NGX_HTTP_FACE_SCAN_MS);
    }
}


/* a claimed job file: its progress and payload */

static void
ngx_http_face_spool_load(ngx_http_face_spool_t *spool,
    ngx_http_face_scan_t *scan)
{
    u_char               *copy;
    size_t                n, state_off, payload_off;
    face_jobs_alloc_t     hooks;
    ngx_http_face_job_t  *job;
    char                  err[FACE_JOBS_ERR_LEN];

    job = ngx_http_face_job_create(spool->conf, spool->log);
    if (job == NULL) {
        (void) close(scan->fd);
        spool->busy = 0;
        return;
    }

    job->spool = spool;
    job->fd = scan->fd;
    job->fetch.leave = 1;

    if (ngx_http_face_spool_paths(job, spool, scan->name) != NGX_OK) {
        goto failed;
    }

    if (face_spool_parse((char *) scan->data, scan->len, &n, &state_off,
                         &payload_off)
        != 0)
    {
        ngx_cpystrn((u_char *) err, (u_char *) "not a job file",
                    sizeof(err));
        goto corrupt;
    }

    job->state_off = state_off;

    copy = ngx_pnalloc(job->pool, scan->len - payload_off + 1);
    if (copy == NULL) {
        goto failed;
    }

    ngx_memcpy(copy, scan->data + payload_off, scan->len - payload_off);

    hooks.alloc = ngx_http_face_jobs_alloc;
    hooks.ctx = job->pool;

    if (face_jobs_parse((char *) copy, scan->len - payload_off, &hooks,
                        &job->payload, err, sizeof(err))
        != FACE_JOBS_OK
        || job->payload.nsources != n)
    {
        goto corrupt;
    }

    if (ngx_http_face_job_prepare(job) != NGX_OK) {
        goto failed;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, job->log, 0,
                   "face job %V: loaded, %uz sources, %uz bytes of payload",
                   &job->name, n, scan->len - payload_off);

    ngx_http_face_spool_progress(job, scan->data + state_off);

    ngx_log_error(NGX_LOG_INFO, job->log, 0,
                  "face job %V: claimed, %ui sources, %ui done before",
                  &job->name, n, job->finished);

    ngx_http_face_job_run(job);

    return;

corrupt:

    /* into failed/ with the reason, never retried */

    ngx_log_error(NGX_LOG_ERR, job->log, 0, "face job %V: corrupt: %s",
                  &job->name, err);

    job->payload.nsources = 0;
    job->failed = 1;
    job->reasons = (u_char *) "corrupt job file\n";
    job->reasons_len = sizeof("corrupt job file\n") - 1;

    ngx_http_face_job_finish(job);

    return;

failed:

    ngx_http_face_job_release(job);
}


/* a claimed job's name for the log, its path and those in failed/ */

static ngx_int_t
ngx_http_face_spool_paths(ngx_http_face_job_t *job,
    ngx_http_face_spool_t *spool, const char *name)
{
    u_char  *reason;

    job->name.len = ngx_strlen(name) - (sizeof(".job") - 1);
    job->name.data = ngx_pnalloc(job->pool, job->name.len + 1);

    if (job->name.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(job->name.data, name, job->name.len);
    job->name.data[job->name.len] = '\0';

    job->path = ngx_http_face_path(job->pool, &spool->path->name, NULL,
                                   name);
    job->failed_dir = ngx_http_face_path(job->pool, &spool->path->name,
                                         "failed", NULL);
    job->failed_path = ngx_http_face_path(job->pool, &spool->path->name,
                                          "failed", name);
    job->reason_path = ngx_http_face_path(job->pool, &spool->path->name,
                                          "failed",
                                          (char *) job->name.data);

    if (job->path == NULL || job->failed_dir == NULL
        || job->failed_path == NULL || job->reason_path == NULL)
    {
        return NGX_ERROR;
    }

    /* "<name>.reason": the room of ".job" and two more bytes */

    reason = ngx_pnalloc(job->pool, ngx_strlen(job->reason_path)
                                    + sizeof(".reason"));
    if (reason == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(reason, "%s.reason%Z", job->reason_path);
    job->reason_path = (char *) reason;

    return NGX_OK;
}


/* what a previous worker finished stays finished */

static void
ngx_http_face_spool_progress(ngx_http_face_job_t *job, u_char *state)
{
    ngx_uint_t               i;
    ngx_http_face_source_t  *s;

    for (i = 0; i < job->payload.nsources; i++) {
        s = &job->sources[i];

        if (state[i] == FACE_SPOOL_PENDING) {
            continue;
        }

        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, job->log, 0,
                       "face job %V: sources[%ui] %s before",
                       &job->name, i,
                       (state[i] == FACE_SPOOL_FAILED) ? "failed"
                                                       : "delivered");

        s->state = NGX_HTTP_FACE_SRC_DONE;
        job->finished++;

        if (state[i] == FACE_SPOOL_FAILED) {
            s->outcome = NGX_HTTP_FACE_FAILED;
            job->failed++;
            ngx_http_face_job_reason(job, s, "failed before a restart");

        } else {
            s->outcome = NGX_HTTP_FACE_DELIVERED;
        }
    }
}


/* "<dir>[/<sub>][/<name>]", NUL-terminated */

char *
ngx_http_face_path(ngx_pool_t *pool, ngx_str_t *dir, const char *sub,
    const char *name)
{
    u_char  *p, *last;
    size_t   len;

    len = dir->len + 1 + (sub ? ngx_strlen(sub) + 1 : 0)
          + (name ? ngx_strlen(name) + 1 : 0);

    p = ngx_pnalloc(pool, len);
    if (p == NULL) {
        return NULL;
    }

    last = ngx_cpymem(p, dir->data, dir->len);

    if (sub) {
        *last++ = '/';
        last = ngx_cpymem(last, sub, ngx_strlen(sub));
    }

    if (name) {
        *last++ = '/';
        last = ngx_cpymem(last, name, ngx_strlen(name));
    }

    *last = '\0';

    return (char *) p;
}
