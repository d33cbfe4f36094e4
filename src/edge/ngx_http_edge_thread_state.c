
/*
 * A pool thread's own object, kept in a pthread key: see
 * ngx_http_edge_thread_state.h.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_edge_thread_state.h"


/*
 * What the key holds: the object and where it belongs, as a destructor
 * is given only the key's value.
 */

typedef struct {
    ngx_http_edge_thread_state_t  *ts;
    void                          *data;
} ngx_http_edge_thread_state_slot_t;


static void ngx_http_edge_thread_state_free(void *value);


ngx_int_t
ngx_http_edge_thread_state_init(ngx_http_edge_thread_state_t *ts,
    const char *module, ngx_http_edge_thread_free_pt handler, ngx_log_t *log)
{
    int  err;

    if (ts->keyed) {
        return NGX_OK;
    }

    ts->free = handler;
    ts->module = module;
    ts->made = 0;
    ts->live = 0;

    err = pthread_key_create(&ts->key, ngx_http_edge_thread_state_free);
    if (err != 0) {
        ngx_log_error(NGX_LOG_EMERG, log, err,
                      "%s: pthread_key_create() failed", module);
        return NGX_ERROR;
    }

    ts->keyed = 1;

    return NGX_OK;
}


void *
ngx_http_edge_thread_state_get(ngx_http_edge_thread_state_t *ts)
{
    ngx_http_edge_thread_state_slot_t  *slot;

    if (!ts->keyed) {
        return NULL;
    }

    slot = pthread_getspecific(ts->key);

    return (slot != NULL) ? slot->data : NULL;
}


ngx_int_t
ngx_http_edge_thread_state_set(ngx_http_edge_thread_state_t *ts, void *data)
{
    ngx_http_edge_thread_state_slot_t  *slot;

    if (!ts->keyed) {
        return NGX_ERROR;
    }

    slot = pthread_getspecific(ts->key);

    if (slot != NULL) {
        slot->data = data;
        return NGX_OK;
    }

    slot = malloc(sizeof(ngx_http_edge_thread_state_slot_t));
    if (slot == NULL) {
        return NGX_ERROR;
    }

    slot->ts = ts;
    slot->data = data;

    if (pthread_setspecific(ts->key, slot) != 0) {
        free(slot);
        return NGX_ERROR;
    }

    /* only this thread's end can free it: counting after is no race */

    (void) __atomic_add_fetch(&ts->made, 1, __ATOMIC_SEQ_CST);
    (void) __atomic_add_fetch(&ts->live, 1, __ATOMIC_SEQ_CST);

    return NGX_OK;
}


ngx_uint_t
ngx_http_edge_thread_state_live(ngx_http_edge_thread_state_t *ts)
{
    return (ngx_uint_t) __atomic_load_n(&ts->live, __ATOMIC_SEQ_CST);
}


/* the key's destructor, in the thread that ends */

static void
ngx_http_edge_thread_state_free(void *value)
{
    ngx_http_edge_thread_state_slot_t *slot = value;

    ngx_http_edge_thread_state_t  *ts;

    ts = slot->ts;

    if (slot->data != NULL) {
        ts->free(slot->data);
    }

    free(slot);

    /* the last touch of the object: exit_process may go on after it */

    (void) __atomic_sub_fetch(&ts->live, 1, __ATOMIC_SEQ_CST);
}


/*
 * exit_process runs after nginx's thread pool module has told every pool
 * thread to end (a core module: its exit_process comes first), so what is
 * still live is being freed by a destructor right now, or belongs to a
 * thread that did not take its exit task (a full queue).
 */

ngx_int_t
ngx_http_edge_thread_state_exit(ngx_http_edge_thread_state_t *ts,
    ngx_log_t *log)
{
    ngx_uint_t  live;
    ngx_msec_t  waited;

    if (!ts->keyed) {
        return NGX_OK;
    }

    for (waited = 0; /* void */; waited++) {
        live = ngx_http_edge_thread_state_live(ts);

        if (live == 0) {
            ngx_log_debug3(NGX_LOG_DEBUG_CORE, log, 0,
                           "%s: %uA thread state(s) freed, waited %M ms",
                           ts->module,
                           __atomic_load_n(&ts->made, __ATOMIC_SEQ_CST),
                           waited);
            return NGX_OK;
        }

        if (waited >= NGX_HTTP_EDGE_THREAD_STATE_WAIT) {
            break;
        }

        ngx_msleep(1);
    }

    ngx_log_error(NGX_LOG_WARN, log, 0,
                  "%s: %ui pool thread%s still freeing %s state after "
                  "%M ms: the libraries are left to exit()",
                  ts->module, live, live == 1 ? "" : "s",
                  live == 1 ? "its" : "their", waited);

    return NGX_AGAIN;
}
