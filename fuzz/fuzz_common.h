
/*
 * What every fuzz target shares: invariant checks that abort (libFuzzer
 * keeps the input), a check of error messages, and an arena for the
 * parsers' allocation hooks, freed in one go after each input.
 */


#ifndef _FUZZ_COMMON_H_INCLUDED_
#define _FUZZ_COMMON_H_INCLUDED_


#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>


#define FUZZ_CHECK(cond)                                                      \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "invariant failed: %s (line %d)\n", #cond,      \
                    __LINE__);                                                \
            abort();                                                          \
        }                                                                     \
    } while (0)


#define FUZZ_FAIL(what)                                                       \
    do {                                                                      \
        fprintf(stderr, "invariant broken: %s\n", what);                      \
        abort();                                                              \
    } while (0)


/* an error message: terminated inside its buffer, printable ASCII */

static inline void
fuzz_check_err(const char *err, size_t size)
{
    size_t  i;

    for (i = 0; i < size && err[i] != '\0'; i++) {
        if (err[i] < 0x20 || err[i] > 0x7e) {
            FUZZ_FAIL("unprintable error message");
        }
    }

    if (i == size) {
        FUZZ_FAIL("unterminated error message");
    }

    if (i == 0) {
        FUZZ_FAIL("empty error message");
    }
}


typedef struct fuzz_block_s  fuzz_block_t;

struct fuzz_block_s {
    fuzz_block_t  *next;
    max_align_t    data[];
};


/* an allocation hook: ctx is a fuzz_block_t ** */

static inline void *
fuzz_alloc(void *ctx, size_t size)
{
    fuzz_block_t  **blocks, *b;

    blocks = ctx;

    b = malloc(sizeof(fuzz_block_t) + size);
    if (b == NULL) {
        return NULL;
    }

    b->next = *blocks;
    *blocks = b;

    return b->data;
}


static inline void
fuzz_free(fuzz_block_t **blocks)
{
    fuzz_block_t  *b;

    while (*blocks != NULL) {
        b = *blocks;
        *blocks = b->next;
        free(b);
    }
}


#endif /* _FUZZ_COMMON_H_INCLUDED_ */
