
/*
 * ngx_http_album_zip_module: CRC-32s of local album files, remembered in
 * shared memory ("album_zip_crc_cache name:size").
 *
 * A directory album's CRCs are computed on the thread pool before their
 * members are sent (ngx_http_album_zip_crc.c); this cache spares the
 * thread's work (and album_zip_crc_store's reads) for files it knows, as
 * a fast front: the archive's bytes never depend on it.  A full zone
 * forgets the least recently used CRCs; the store on disk keeps them.
 *
 * A file is identified by device, inode, size and modification time to
 * the nanosecond; a changed file is a new key, and the old one ages out of
 * the LRU list.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_album_zip.h"


typedef struct {
    ngx_rbtree_t                     rbtree;
    ngx_rbtree_node_t                sentinel;
    ngx_queue_t                      lru;
} ngx_http_album_zip_crc_sh_t;


typedef struct {
    ngx_http_album_zip_crc_sh_t     *sh;
    ngx_slab_pool_t                 *shpool;
} ngx_http_album_zip_crc_cache_t;


typedef struct {
    ngx_rbtree_node_t                node;    /* key: a hash of the id */
    ngx_queue_t                      queue;
    ngx_http_album_zip_file_id_t     id;
    uint32_t                         crc;
} ngx_http_album_zip_crc_node_t;


static ngx_int_t ngx_http_album_zip_crc_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_album_zip_crc_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_http_album_zip_crc_node_t *ngx_http_album_zip_crc_find(
    ngx_http_album_zip_crc_cache_t *cache, ngx_http_album_zip_file_id_t *id,
    ngx_rbtree_key_t key);


static ngx_rbtree_key_t
ngx_http_album_zip_crc_key(ngx_http_album_zip_file_id_t *id)
{
    return ngx_crc32_short((u_char *) id, sizeof(*id));
}


char *
ngx_http_album_zip_crc_cache(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_album_zip_loc_conf_t *azlcf = conf;

    u_char                          *p;
    ssize_t                          size;
    ngx_str_t                       *value, name, s;
    ngx_http_album_zip_crc_cache_t  *cache;

    if (azlcf->crc_cache != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        azlcf->crc_cache = NULL;
        return NGX_CONF_OK;
    }

    p = (u_char *) ngx_strchr(value[1].data, ':');
    if (p == NULL || p == value[1].data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid album_zip_crc_cache \"%V\", "
                           "expected \"name:size\" or \"off\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    name.data = value[1].data;
    name.len = p - name.data;

    s.data = p + 1;
    s.len = value[1].data + value[1].len - s.data;

    size = ngx_parse_size(&s);

    if (size == NGX_ERROR || size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "album_zip_crc_cache \"%V\" is too small or "
                           "invalid; at least %uz bytes", &value[1],
                           8 * ngx_pagesize);
        return NGX_CONF_ERROR;
    }

    azlcf->crc_cache = ngx_shared_memory_add(cf, &name, size,
                                             &ngx_http_album_zip_module);
    if (azlcf->crc_cache == NULL) {
        return NGX_CONF_ERROR;
    }

    if (azlcf->crc_cache->data) {
        /* the same zone named again, in another location */
        return NGX_CONF_OK;
    }

    cache = ngx_pcalloc(cf->pool, sizeof(ngx_http_album_zip_crc_cache_t));
    if (cache == NULL) {
        return NGX_CONF_ERROR;
    }

    azlcf->crc_cache->init = ngx_http_album_zip_crc_init_zone;
    azlcf->crc_cache->data = cache;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_album_zip_crc_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_album_zip_crc_cache_t  *ocache = data;

    size_t                           len;
    ngx_http_album_zip_crc_cache_t  *cache;

    cache = shm_zone->data;

    if (ocache) {
        /* a reload keeps what the zone remembered */
        cache->sh = ocache->sh;
        cache->shpool = ocache->shpool;
        return NGX_OK;
    }

    cache->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        cache->sh = cache->shpool->data;
        return NGX_OK;
    }

    cache->sh = ngx_slab_alloc(cache->shpool,
                               sizeof(ngx_http_album_zip_crc_sh_t));
    if (cache->sh == NULL) {
        return NGX_ERROR;
    }

    cache->shpool->data = cache->sh;

    ngx_rbtree_init(&cache->sh->rbtree, &cache->sh->sentinel,
                    ngx_http_album_zip_crc_insert);
    ngx_queue_init(&cache->sh->lru);

    len = sizeof(" in album_zip_crc_cache \"\"") + shm_zone->shm.name.len;

    cache->shpool->log_ctx = ngx_slab_alloc(cache->shpool, len);
    if (cache->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(cache->shpool->log_ctx, " in album_zip_crc_cache \"%V\"%Z",
                &shm_zone->shm.name);

    /* a full zone evicts old entries; that is not worth a log line */
    cache->shpool->log_nomem = 0;

    return NGX_OK;
}


static void
ngx_http_album_zip_crc_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t              **p;
    ngx_http_album_zip_crc_node_t   *n, *t;

    for ( ;; ) {

        if (node->key < temp->key) {
            p = &temp->left;

        } else if (node->key > temp->key) {
            p = &temp->right;

        } else {
            n = (ngx_http_album_zip_crc_node_t *) node;
            t = (ngx_http_album_zip_crc_node_t *) temp;

            p = (ngx_memcmp(&n->id, &t->id, sizeof(n->id)) < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


static ngx_http_album_zip_crc_node_t *
ngx_http_album_zip_crc_find(ngx_http_album_zip_crc_cache_t *cache,
    ngx_http_album_zip_file_id_t *id, ngx_rbtree_key_t key)
{
    ngx_int_t                       rc;
    ngx_rbtree_node_t              *node, *sentinel;
    ngx_http_album_zip_crc_node_t  *n;

    node = cache->sh->rbtree.root;
    sentinel = cache->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (key < node->key) {
            node = node->left;
            continue;
        }

        if (key > node->key) {
            node = node->right;
            continue;
        }

        n = (ngx_http_album_zip_crc_node_t *) node;

        rc = ngx_memcmp(id, &n->id, sizeof(*id));

        if (rc == 0) {
            return n;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


ngx_int_t
ngx_http_album_zip_crc_get(ngx_shm_zone_t *zone,
    ngx_http_album_zip_file_id_t *id, uint32_t *crc)
{
    ngx_http_album_zip_crc_node_t   *n;
    ngx_http_album_zip_crc_cache_t  *cache;

    cache = zone->data;

    ngx_shmtx_lock(&cache->shpool->mutex);

    n = ngx_http_album_zip_crc_find(cache, id,
                                    ngx_http_album_zip_crc_key(id));
    if (n) {
        ngx_queue_remove(&n->queue);
        ngx_queue_insert_head(&cache->sh->lru, &n->queue);
        *crc = n->crc;
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);

    ngx_http_edge_metrics_add(n ? EDGE_METRICS_ZIP_CRC_HITS
                                : EDGE_METRICS_ZIP_CRC_MISSES, 1);

    return n ? NGX_OK : NGX_DECLINED;
}


void
ngx_http_album_zip_crc_put(ngx_shm_zone_t *zone,
    ngx_http_album_zip_file_id_t *id, uint32_t crc)
{
    ngx_uint_t                       i;
    ngx_queue_t                     *q;
    ngx_rbtree_key_t                 key;
    ngx_http_album_zip_crc_node_t   *n, *old;
    ngx_http_album_zip_crc_cache_t  *cache;

    cache = zone->data;
    key = ngx_http_album_zip_crc_key(id);

    ngx_shmtx_lock(&cache->shpool->mutex);

    n = ngx_http_album_zip_crc_find(cache, id, key);

    if (n == NULL) {
        n = ngx_slab_alloc_locked(cache->shpool, sizeof(*n));

        /* full: forget the least recently used, a few at a time */
        for (i = 0; n == NULL && i < 8; i++) {
            if (ngx_queue_empty(&cache->sh->lru)) {
                break;
            }

            q = ngx_queue_last(&cache->sh->lru);
            old = ngx_queue_data(q, ngx_http_album_zip_crc_node_t, queue);

            ngx_queue_remove(q);
            ngx_rbtree_delete(&cache->sh->rbtree, &old->node);
            ngx_slab_free_locked(cache->shpool, old);

            n = ngx_slab_alloc_locked(cache->shpool, sizeof(*n));
        }

        if (n == NULL) {
            ngx_shmtx_unlock(&cache->shpool->mutex);
            return;
        }

        n->node.key = key;
        n->id = *id;
        ngx_rbtree_insert(&cache->sh->rbtree, &n->node);

    } else {
        ngx_queue_remove(&n->queue);
    }

    n->crc = crc;
    ngx_queue_insert_head(&cache->sh->lru, &n->queue);

    ngx_shmtx_unlock(&cache->shpool->mutex);
}
