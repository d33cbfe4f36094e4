
/*
 * Member names for album ZIPs; see the header for the rules.
 */


#include <string.h>
#include <strings.h>

#include "album_zip_names.h"


/* an extension longer than this is not worth keeping when cutting */
#define ALBUM_ZIP_EXT_MAX     16

/* " (4294967295)" */
#define ALBUM_ZIP_SUFFIX_MAX  13


typedef struct {
    album_zip_name_t  *names;
    uint64_t          *slots;     /* hash tag << 32 | (index + 1) */
    size_t             mask;
    uint64_t           k0;
    uint64_t           k1;
} album_zip_set_t;


/*
 * The folders the names imply ("Day1" for "Day1/a.jpg" and for "Day1/"):
 * a file may not have one's name, or no extractor can create both.
 */

typedef struct {
    const char        *data;
    size_t             len;       /* without the '/' */
} album_zip_folder_t;


typedef struct {
    album_zip_folder_t  *folders;
    size_t               nfolders;
    uint64_t            *slots;   /* hash tag << 32 | (index + 1) */
    size_t               mask;
    uint64_t             k0;
} album_zip_folders_t;


static size_t album_zip_utf8(const uint8_t *p, const uint8_t *end,
    uint32_t *cp);
static size_t album_zip_utf8_cut(const uint8_t *p, size_t len);
static size_t album_zip_component(uint8_t *p, size_t len);
static size_t album_zip_fit(uint8_t *p, size_t len, size_t leaf,
    size_t limit);
static uint64_t album_zip_siphash(uint64_t k0, uint64_t k1,
    const uint8_t *p, size_t len);
static size_t album_zip_set_find(album_zip_set_t *set, const char *data,
    size_t len, uint64_t *slot);
static size_t album_zip_candidate(uint8_t *dst, const album_zip_name_t *name,
    uint32_t k);
static int album_zip_folders_init(album_zip_folders_t *f,
    album_zip_name_t *names, size_t n, const album_zip_alloc_t *alloc,
    uint64_t seed);
static int album_zip_folders_find(album_zip_folders_t *f, const char *data,
    size_t len, size_t *slot);


/*
 * Decodes one UTF-8 sequence at p; returns its length, or 0 when p does
 * not start a valid sequence (RFC 3629).
 */

static size_t
album_zip_utf8(const uint8_t *p, const uint8_t *end, uint32_t *cp)
{
    size_t    i, n;
    uint32_t  c, min;

    c = p[0];

    if (c < 0x80) {
        *cp = c;
        return 1;
    }

    if (c < 0xc2) {
        /* a continuation byte or an overlong 2-byte lead */
        return 0;
    }

    if (c < 0xe0) {
        n = 2;
        c &= 0x1f;
        min = 0x80;

    } else if (c < 0xf0) {
        n = 3;
        c &= 0x0f;
        min = 0x800;

    } else if (c < 0xf5) {
        n = 4;
        c &= 0x07;
        min = 0x10000;

    } else {
        return 0;
    }

    if ((size_t) (end - p) < n) {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }

        c = (c << 6) | (p[i] & 0x3f);
    }

    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        return 0;
    }

    *cp = c;

    return n;
}


/* the longest prefix of at most len bytes that ends between sequences */

static size_t
album_zip_utf8_cut(const uint8_t *p, size_t len)
{
    while (len > 0 && (p[len] & 0xc0) == 0x80) {
        len--;
    }

    return len;
}


/*
 * Cuts a component of valid UTF-8 in place to the component limit,
 * keeping a short extension; returns the new length.
 */

static size_t
album_zip_component(uint8_t *p, size_t len)
{
    size_t  dot, ext, stem;

    if (len <= ALBUM_ZIP_NAME_COMPONENT_MAX) {
        return len;
    }

    for (dot = len - 1; dot > 0; dot--) {
        if (p[dot] == '.') {
            break;
        }
    }

    ext = len - dot;

    if (dot == 0 || ext > ALBUM_ZIP_EXT_MAX) {
        return album_zip_utf8_cut(p, ALBUM_ZIP_NAME_COMPONENT_MAX);
    }

    stem = album_zip_utf8_cut(p, ALBUM_ZIP_NAME_COMPONENT_MAX - ext);
    memmove(p + stem, p + dot, ext);

    return stem + ext;
}


/*
 * Shortens "dir/dir/leaf" (leaf starting at "leaf") to at most limit
 * bytes by dropping trailing directories, so that the file keeps its
 * name; returns the new length.
 */

static size_t
album_zip_fit(uint8_t *p, size_t len, size_t leaf, size_t limit)
{
    size_t  q, leaf_len;

    if (len <= limit) {
        return len;
    }

    leaf_len = len - leaf;

    /* p[leaf - 1] is the '/' before the leaf; find one that fits */
    for (q = leaf - 1; q > 0; q--) {
        if (p[q] == '/' && q + 1 + leaf_len <= limit) {
            memmove(p + q + 1, p + leaf, leaf_len);
            return q + 1 + leaf_len;
        }
    }

    memmove(p, p + leaf, leaf_len);

    return leaf_len;
}


size_t
album_zip_name_sanitize(char *dst, const char *src, size_t len,
    unsigned is_dir)
{
    size_t          n, r, w, m, cs, ce, clen, leaf, i;
    uint8_t        *d;
    uint32_t        cp;
    const uint8_t  *p, *end;

    d = (uint8_t *) dst;
    p = (const uint8_t *) src;
    end = p + len;

    /* characters first, so that "\x01..\x01" cannot become ".." later */

    m = 0;

    while (p < end) {
        n = album_zip_utf8(p, end, &cp);

        if (n == 0) {
            d[m++] = '_';
            p++;
            continue;
        }

        if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
            p += n;
            continue;
        }

        if (cp == '\\') {
            d[m++] = '/';
            p++;
            continue;
        }

        memcpy(d + m, p, n);
        m += n;
        p += n;
    }

    /* then components, in place: the output never outgrows the input */

    r = 0;
    w = 0;
    leaf = 0;

    while (r < m) {
        cs = r;

        while (r < m && d[r] != '/') {
            r++;
        }

        ce = r++;

        /* "C:x" is drive-relative on Windows; any first component */
        while (w == 0 && ce - cs >= 2 && d[cs + 1] == ':'
               && ((d[cs] >= 'A' && d[cs] <= 'Z')
                   || (d[cs] >= 'a' && d[cs] <= 'z')))
        {
            cs += 2;
        }

        clen = album_zip_component(d + cs, ce - cs);

        for (i = 0; i < clen; i++) {
            if (d[cs + i] != '.' && d[cs + i] != ' ') {
                break;
            }
        }

        if (i == clen) {
            /* empty, ".", "..", or what Windows trims to those */
            continue;
        }

        if (w > 0) {
            d[w++] = '/';
        }

        leaf = w;
        memmove(d + w, d + cs, clen);
        w += clen;
    }

    if (w == 0) {
        w = sizeof(ALBUM_ZIP_NAME_FALLBACK) - 1;
        memcpy(d, ALBUM_ZIP_NAME_FALLBACK, w);
    }

    w = album_zip_fit(d, w, leaf, ALBUM_ZIP_NAME_MAX - (is_dir ? 1 : 0));

    if (is_dir) {
        d[w++] = '/';
    }

    d[w] = '\0';

    return w;
}


#define album_zip_rotl(x, b)  (((x) << (b)) | ((x) >> (64 - (b))))

#define album_zip_sipround(v0, v1, v2, v3)                                    \
    do {                                                                      \
        v0 += v1;                                                             \
        v1 = album_zip_rotl(v1, 13);                                          \
        v1 ^= v0;                                                             \
        v0 = album_zip_rotl(v0, 32);                                          \
        v2 += v3;                                                             \
        v3 = album_zip_rotl(v3, 16);                                          \
        v3 ^= v2;                                                             \
        v0 += v3;                                                             \
        v3 = album_zip_rotl(v3, 21);                                          \
        v3 ^= v0;                                                             \
        v2 += v1;                                                             \
        v1 = album_zip_rotl(v1, 17);                                          \
        v1 ^= v2;                                                             \
        v2 = album_zip_rotl(v2, 32);                                          \
    } while (0)


/* SipHash-1-3: keyed, so a table keyed at random cannot be flooded */

static uint64_t
album_zip_siphash(uint64_t k0, uint64_t k1, const uint8_t *p, size_t len)
{
    size_t          i;
    uint64_t        v0, v1, v2, v3, m;
    const uint8_t  *end;

    v0 = k0 ^ 0x736f6d6570736575ULL;
    v1 = k1 ^ 0x646f72616e646f6dULL;
    v2 = k0 ^ 0x6c7967656e657261ULL;
    v3 = k1 ^ 0x7465646279746573ULL;

    end = p + (len & ~(size_t) 7);

    for ( /* void */ ; p < end; p += 8) {
        m = 0;

        for (i = 8; i > 0; i--) {
            m = (m << 8) | p[i - 1];
        }

        v3 ^= m;
        album_zip_sipround(v0, v1, v2, v3);
        v0 ^= m;
    }

    m = (uint64_t) len << 56;

    for (i = len & 7; i > 0; i--) {
        m |= (uint64_t) p[i - 1] << (8 * (i - 1));
    }

    v3 ^= m;
    album_zip_sipround(v0, v1, v2, v3);
    v0 ^= m;

    v2 ^= 0xff;
    album_zip_sipround(v0, v1, v2, v3);
    album_zip_sipround(v0, v1, v2, v3);
    album_zip_sipround(v0, v1, v2, v3);

    return v0 ^ v1 ^ v2 ^ v3;
}


/*
 * Looks a name up; returns index + 1 of the equal name, or 0 and the
 * empty slot (with the hash tag filled in) where it would go.
 */

static size_t
album_zip_set_find(album_zip_set_t *set, const char *data, size_t len,
    uint64_t *slot)
{
    size_t             i, idx;
    uint64_t           h, tag;
    album_zip_name_t  *name;

    h = album_zip_siphash(set->k0, set->k1, (const uint8_t *) data, len);
    tag = h & 0xffffffff00000000ULL;

    for (i = (size_t) h & set->mask; /* void */; i = (i + 1) & set->mask) {

        if (set->slots[i] == 0) {
            *slot = i;
            set->slots[i] = tag;
            return 0;
        }

        if ((set->slots[i] & 0xffffffff00000000ULL) != tag) {
            continue;
        }

        idx = (size_t) (set->slots[i] & 0xffffffff);
        name = &set->names[idx - 1];

        if (name->len == len && memcmp(name->data, data, len) == 0) {
            return idx;
        }
    }
}


/*
 * Builds "stem (k).ext" for a file name into dst; returns its length.
 * The suffix must fit into the last component and the whole name, so
 * the stem, then the extension, then trailing directories give way.
 */

static size_t
album_zip_candidate(uint8_t *dst, const album_zip_name_t *name, uint32_t k)
{
    size_t          len, base, prefix, dot, ext, stem, room, slen, i;
    uint8_t         c, suffix[ALBUM_ZIP_SUFFIX_MAX];
    const uint8_t  *p;

    p = (const uint8_t *) name->data;
    len = name->len;

    for (base = len; base > 0 && p[base - 1] != '/'; base--) {
        /* void */
    }

    /* the last dot of the leaf, unless it is its first character */
    for (dot = len; dot > base + 1 && p[dot - 1] != '.'; dot--) {
        /* void */
    }

    dot = (dot > base + 1) ? dot - 1 : len;
    ext = len - dot;

    /* " (k)": the digits come out backwards, so reverse all of it */
    slen = 0;
    suffix[slen++] = ')';

    do {
        suffix[slen++] = (uint8_t) ('0' + k % 10);
        k /= 10;
    } while (k);

    suffix[slen++] = '(';
    suffix[slen++] = ' ';

    for (i = 0; i < slen / 2; i++) {
        c = suffix[i];
        suffix[i] = suffix[slen - 1 - i];
        suffix[slen - 1 - i] = c;
    }

    prefix = base;

    for ( ;; ) {
        room = ALBUM_ZIP_NAME_MAX - prefix;

        if (room > ALBUM_ZIP_NAME_COMPONENT_MAX) {
            room = ALBUM_ZIP_NAME_COMPONENT_MAX;
        }

        if (room >= slen) {
            break;
        }

        /* drop the last directory; p[prefix - 1] is its '/' */
        for (prefix--; prefix > 0 && p[prefix - 1] != '/'; prefix--) {
            /* void */
        }
    }

    if (slen + ext > room) {
        dot = len;
        ext = 0;
    }

    stem = dot - base;

    if (stem + slen + ext > room) {
        stem = album_zip_utf8_cut(p + base, room - slen - ext);
    }

    memcpy(dst, p, prefix);
    memcpy(dst + prefix, p + base, stem);
    memcpy(dst + prefix + stem, suffix, slen);
    memcpy(dst + prefix + stem + slen, p + dot, ext);

    return prefix + stem + slen + ext;
}


/*
 * The folders' hash is FNV-1a from a keyed start, finished with a 64-bit
 * mixer: one pass over a name gives the hash of each of its folders.
 */

static uint64_t
album_zip_folder_mix(uint64_t h, size_t len)
{
    h ^= (uint64_t) len;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;

    return h;
}


#define album_zip_folder_step(h, c)                                           \
    (((h) ^ (uint8_t) (c)) * 0x100000001b3ULL)


static uint64_t
album_zip_folder_hash(uint64_t k0, const char *data, size_t len)
{
    size_t    i;
    uint64_t  h;

    h = k0;

    for (i = 0; i < len; i++) {
        h = album_zip_folder_step(h, data[i]);
    }

    return album_zip_folder_mix(h, len);
}


/*
 * Looks a folder up by its hash; returns 1 if present, or 0 and the
 * empty slot (with the tag filled in) where it would go.
 */

static int
album_zip_folders_lookup(album_zip_folders_t *f, const char *data,
    size_t len, uint64_t h, size_t *slot)
{
    size_t               i;
    uint64_t             tag;
    album_zip_folder_t  *d;

    tag = h & 0xffffffff00000000ULL;

    for (i = (size_t) h & f->mask; /* void */; i = (i + 1) & f->mask) {

        if (f->slots[i] == 0) {
            *slot = i;
            f->slots[i] = tag;
            return 0;
        }

        if ((f->slots[i] & 0xffffffff00000000ULL) != tag) {
            continue;
        }

        d = &f->folders[(f->slots[i] & 0xffffffff) - 1];

        if (d->len == len && memcmp(d->data, data, len) == 0) {
            return 1;
        }
    }
}


static int
album_zip_folders_find(album_zip_folders_t *f, const char *data, size_t len,
    size_t *slot)
{
    if (f->nfolders == 0) {
        return 0;
    }

    if (album_zip_folders_lookup(f, data, len,
                                 album_zip_folder_hash(f->k0, data, len),
                                 slot))
    {
        return 1;
    }

    /* only a look: the slot tagged for it stays empty */
    f->slots[*slot] = 0;

    return 0;
}


/* every folder the names imply, once; 0 slots when there is none */

static int
album_zip_folders_init(album_zip_folders_t *f, album_zip_name_t *names,
    size_t n, const album_zip_alloc_t *alloc, uint64_t seed)
{
    size_t       i, p, cap, total, slot;
    uint64_t     h;
    const char  *data;

    f->nfolders = 0;
    f->k0 = seed ^ 0x6a09e667f3bcc908ULL;

    total = 0;

    for (i = 0; i < n; i++) {
        data = names[i].data;

        for (p = 0; p < names[i].len; p++) {
            total += (data[p] == '/');
        }
    }

    if (total == 0) {
        f->slots = NULL;
        f->mask = 0;
        return ALBUM_ZIP_OK;
    }

    if (total >= 0x80000000) {
        return ALBUM_ZIP_EINVAL;
    }

    for (cap = 16; cap < 2 * total; cap <<= 1) {
        /* void */
    }

    f->mask = cap - 1;
    f->slots = alloc->alloc(alloc->ctx, cap * sizeof(uint64_t));
    f->folders = alloc->alloc(alloc->ctx,
                              total * sizeof(album_zip_folder_t));

    if (f->slots == NULL || f->folders == NULL) {
        return ALBUM_ZIP_ENOMEM;
    }

    memset(f->slots, 0, cap * sizeof(uint64_t));

    for (i = 0; i < n; i++) {
        data = names[i].data;
        h = f->k0;

        for (p = 0; p < names[i].len; p++) {

            if (data[p] == '/' && p > 0) {
                if (!album_zip_folders_lookup(f, data, p,
                                              album_zip_folder_mix(h, p),
                                              &slot))
                {
                    f->folders[f->nfolders].data = data;
                    f->folders[f->nfolders].len = p;
                    f->nfolders++;
                    f->slots[slot] |= f->nfolders;
                }
            }

            h = album_zip_folder_step(h, data[p]);
        }
    }

    return ALBUM_ZIP_OK;
}


int
album_zip_names_dedup(album_zip_name_t *names, size_t n,
    const album_zip_alloc_t *alloc, uint64_t seed)
{
    int                   rc;
    char                 *data;
    size_t                i, j, len, cap, max, ndup, fslot;
    uint8_t              *scratch;
    uint32_t              k, *next;
    uint64_t              slot;
    album_zip_set_t       set;
    album_zip_folders_t   folders;

    if (n == 0) {
        return ALBUM_ZIP_OK;
    }

    if (n >= 0x80000000) {
        return ALBUM_ZIP_EINVAL;
    }

    for (cap = 16; cap < 2 * n; cap <<= 1) {
        /* void */
    }

    set.names = names;
    set.mask = cap - 1;
    set.k0 = seed;
    set.k1 = seed ^ 0x9e3779b97f4a7c15ULL;
    set.slots = alloc->alloc(alloc->ctx, cap * sizeof(uint64_t));

    if (set.slots == NULL) {
        return ALBUM_ZIP_ENOMEM;
    }

    memset(set.slots, 0, cap * sizeof(uint64_t));

    rc = album_zip_folders_init(&folders, names, n, alloc, seed);
    if (rc != ALBUM_ZIP_OK) {
        return rc;
    }

    /* every original name first: a generated one must avoid them all */

    ndup = 0;
    max = 0;

    for (i = 0; i < n; i++) {
        names[i].omit = 0;

        if (album_zip_set_find(&set, names[i].data, names[i].len, &slot)) {
            ndup++;

            if (names[i].len > max) {
                max = names[i].len;
            }

            continue;
        }

        set.slots[slot] |= i + 1;

        /* a file named as a folder is renamed as a repeated one is */
        if (names[i].len > 0 && names[i].data[names[i].len - 1] != '/'
            && album_zip_folders_find(&folders, names[i].data,
                                      names[i].len, &fslot))
        {
            ndup++;

            if (names[i].len > max) {
                max = names[i].len;
            }
        }
    }

    if (ndup == 0) {
        return ALBUM_ZIP_OK;
    }

    next = alloc->alloc(alloc->ctx, n * sizeof(uint32_t));
    scratch = alloc->alloc(alloc->ctx, max + ALBUM_ZIP_SUFFIX_MAX);

    if (next == NULL || scratch == NULL) {
        return ALBUM_ZIP_ENOMEM;
    }

    memset(next, 0, n * sizeof(uint32_t));

    for (i = 0; i < n; i++) {
        j = album_zip_set_find(&set, names[i].data, names[i].len, &slot);

        if (j == 0) {
            /*
             * Every original is in the set, but one renamed for a folder
             * of its name is there under its new name: this is a copy.
             */
            set.slots[slot] = 0;
            j = i + 1;

            if (names[i].len > 0 && names[i].data[names[i].len - 1] == '/') {
                continue;
            }
        }

        j--;

        if (names[i].len > 0 && names[i].data[names[i].len - 1] == '/') {
            if (j != i) {
                names[i].omit = 1;
            }

            continue;
        }

        if (j == i
            && !album_zip_folders_find(&folders, names[i].data,
                                       names[i].len, &fslot))
        {
            continue;
        }

        /* per original, the next number to try: keeps 70000 copies O(n) */
        k = next[j] ? next[j] : 2;

        for ( ;; ) {
            len = album_zip_candidate(scratch, &names[j], k);

            if (album_zip_set_find(&set, (char *) scratch, len, &slot) == 0) {
                if (!album_zip_folders_find(&folders, (char *) scratch, len,
                                            &fslot))
                {
                    break;
                }

                /* taken by a folder: the slot just tagged stays empty */
                set.slots[slot] = 0;
            }

            k++;
        }

        next[j] = k + 1;

        data = alloc->alloc(alloc->ctx, len + 1);

        if (data == NULL) {
            set.slots[slot] = 0;
            return ALBUM_ZIP_ENOMEM;
        }

        memcpy(data, scratch, len);
        data[len] = '\0';

        names[i].data = data;
        names[i].len = len;
        set.slots[slot] |= i + 1;
    }

    return ALBUM_ZIP_OK;
}


/*
 * Walks a name as UTF-8 for the Content-Disposition helpers: calls
 * back with each character that survives, as bytes, or NULL for '_'.
 */

typedef void (*album_zip_char_pt)(void *ctx, const uint8_t *p, size_t n);


static void
album_zip_chars(const char *src, size_t len, album_zip_char_pt handler,
    void *ctx)
{
    size_t          n;
    uint32_t        cp;
    const uint8_t  *p, *end;

    p = (const uint8_t *) src;
    end = p + len;

    while (p < end) {
        n = album_zip_utf8(p, end, &cp);

        if (n == 0) {
            handler(ctx, NULL, 1);
            p++;
            continue;
        }

        if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
            p += n;
            continue;
        }

        if (cp == '/' || cp == '\\') {
            handler(ctx, NULL, 1);

        } else {
            handler(ctx, p, n);
        }

        p += n;
    }
}


typedef struct {
    uint8_t  *dst;
    size_t    len;
} album_zip_buf_t;


static void
album_zip_ascii_char(void *ctx, const uint8_t *p, size_t n)
{
    album_zip_buf_t  *b;

    b = ctx;

    if (p == NULL || n != 1 || *p == '"' || *p == '\\' || *p == '%') {
        /* '%': some browsers percent-decode filename="..." */
        b->dst[b->len++] = '_';

    } else {
        b->dst[b->len++] = *p;
    }
}


static void
album_zip_rfc5987_char(void *ctx, const uint8_t *p, size_t n)
{
    size_t            i;
    uint8_t           c;
    album_zip_buf_t  *b;

    static const char  hex[] = "0123456789ABCDEF";

    b = ctx;

    if (p == NULL) {
        b->dst[b->len++] = '_';
        return;
    }

    for (i = 0; i < n; i++) {
        c = p[i];

        /* RFC 5987 attr-char */
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9')
            || (c != '\0' && strchr("!#$&+-.^_`|~", c) != NULL))
        {
            b->dst[b->len++] = c;
            continue;
        }

        b->dst[b->len++] = '%';
        b->dst[b->len++] = hex[c >> 4];
        b->dst[b->len++] = hex[c & 0x0f];
    }
}


size_t
album_zip_name_ascii(char *dst, const char *src, size_t len)
{
    album_zip_buf_t  b;

    b.dst = (uint8_t *) dst;
    b.len = 0;

    album_zip_chars(src, len, album_zip_ascii_char, &b);

    if (b.len == 0) {
        b.len = sizeof(ALBUM_ZIP_NAME_DOWNLOAD) - 1;
        memcpy(dst, ALBUM_ZIP_NAME_DOWNLOAD, b.len);
    }

    dst[b.len] = '\0';

    return b.len;
}


size_t
album_zip_name_rfc5987(char *dst, const char *src, size_t len)
{
    album_zip_buf_t  b;

    b.dst = (uint8_t *) dst;
    b.len = 0;

    album_zip_chars(src, len, album_zip_rfc5987_char, &b);

    if (b.len == 0) {
        b.len = sizeof(ALBUM_ZIP_NAME_DOWNLOAD) - 1;
        memcpy(dst, ALBUM_ZIP_NAME_DOWNLOAD, b.len);
    }

    dst[b.len] = '\0';

    return b.len;
}


size_t
album_zip_content_disposition(char *dst, const char *src, size_t len)
{
    char  *p;

    static const char  attachment[] = "attachment; filename=\"";
    static const char  star[] = "\"; filename*=UTF-8''";

    p = dst;

    memcpy(p, attachment, sizeof(attachment) - 1);
    p += sizeof(attachment) - 1;

    p += album_zip_name_ascii(p, src, len);

    memcpy(p, star, sizeof(star) - 1);
    p += sizeof(star) - 1;

    p += album_zip_name_rfc5987(p, src, len);

    return p - dst;
}


static int
album_zip_hex(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}


/* the parameter value at p: a quoted-string or a token; decoded to dst */

static size_t
album_zip_param_value(const char **pp, const char *end, char *dst)
{
    size_t       n;
    const char  *p;

    p = *pp;
    n = 0;

    if (p < end && *p == '"') {
        for (p++; p < end && *p != '"'; p++) {
            if (*p == '\\' && p + 1 < end) {
                p++;
            }

            dst[n++] = *p;
        }

        if (p < end) {
            p++;
        }

        *pp = p;

        return n;
    }

    while (p < end && *p != ';') {
        dst[n++] = *p++;
    }

    while (n > 0 && (dst[n - 1] == ' ' || dst[n - 1] == '\t')) {
        n--;
    }

    *pp = p;

    return n;
}


/* RFC 5987 ext-value, UTF-8 only: "UTF-8'lang'pct-encoded" in place */

static size_t
album_zip_ext_value(char *v, size_t len)
{
    int     hi, lo;
    size_t  i, n, q;

    if (len < 6 || strncasecmp(v, "utf-8'", 6) != 0) {
        return 0;
    }

    for (q = 6; q < len && v[q] != '\''; q++) {
        /* the language, ignored */
    }

    if (q == len) {
        return 0;
    }

    n = 0;

    for (i = q + 1; i < len; i++) {
        if (v[i] == '%') {
            hi = (i + 2 < len) ? album_zip_hex((uint8_t) v[i + 1]) : -1;
            lo = (i + 2 < len) ? album_zip_hex((uint8_t) v[i + 2]) : -1;

            if (hi < 0 || lo < 0) {
                return 0;
            }

            v[n++] = (char) (hi * 16 + lo);
            i += 2;
            continue;
        }

        v[n++] = v[i];
    }

    return n;
}


size_t
album_zip_disposition_name(char *dst, const char *value, size_t len)
{
    char        *v;
    size_t       n, nlen, plain, plain_len, ext_len;
    const char  *p, *end, *name;

    p = value;
    end = value + len;

    plain = 0;
    plain_len = 0;
    ext_len = 0;

    /* dst holds both candidates: "filename" first, "filename*" after */
    v = dst + len + 1;

    /* the disposition type, then ";"-separated parameters */
    while (p < end && *p != ';') {
        p++;
    }

    while (p < end) {
        p++;

        while (p < end && (*p == ' ' || *p == '\t')) {
            p++;
        }

        name = p;

        while (p < end && *p != '=' && *p != ';') {
            p++;
        }

        nlen = p - name;

        while (nlen > 0 && (name[nlen - 1] == ' ' || name[nlen - 1] == '\t'))
        {
            nlen--;
        }

        if (p == end || *p == ';') {
            continue;
        }

        p++;

        while (p < end && (*p == ' ' || *p == '\t')) {
            p++;
        }

        if (nlen == 9 && strncasecmp(name, "filename*", 9) == 0) {
            n = album_zip_param_value(&p, end, v);
            ext_len = album_zip_ext_value(v, n);

        } else if (nlen == 8 && strncasecmp(name, "filename", 8) == 0) {
            plain_len = album_zip_param_value(&p, end, dst);
            plain = 1;

        } else {
            (void) album_zip_param_value(&p, end, v + len + 1);
        }

        while (p < end && *p != ';') {
            p++;
        }
    }

    if (ext_len) {
        memmove(dst, v, ext_len);
        return ext_len;
    }

    return plain ? plain_len : 0;
}
