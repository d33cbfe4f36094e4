
/*
 * libFuzzer target for face_exif.c, the EXIF orientation reader of the
 * face engine's JPEG and WebP decoders (the APP1 segment or the EXIF
 * chunk of an uploaded photo).
 *
 * Any input, as a segment and as a chunk's bare TIFF: an orientation of
 * 1..8, nothing read outside the input (ASan).  Then a well-formed segment
 * built from the input (byte order, up to 7 other IFD0 entries with the
 * input's tags and values, then orientation 1..8): that orientation is
 * found, in the segment and in its TIFF alone.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "face_internal.h"
#include "fuzz_common.h"


static void
put16(uint8_t *p, int be, unsigned v)
{
    p[be ? 0 : 1] = (uint8_t) (v >> 8);
    p[be ? 1 : 0] = (uint8_t) v;
}


static void
put32(uint8_t *p, int be, uint32_t v)
{
    put16(p + (be ? 0 : 2), be, v >> 16);
    put16(p + (be ? 2 : 0), be, v & 0xffff);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int       o, be, k, i, want;
    uint8_t  *copy, seg[6 + 8 + 2 + 8 * 12 + 4], *e;
    size_t    len;

    /* a copy of exactly size bytes: ASan sees any read past it */
    copy = malloc(size ? size : 1);
    FUZZ_CHECK(copy != NULL);
    memcpy(copy, data, size);

    o = face_exif_orientation(copy, size);
    FUZZ_CHECK(o >= 1 && o <= 8);
    o = face_exif_tiff_orientation(copy, size);
    FUZZ_CHECK(o >= 1 && o <= 8);
    free(copy);

    if (size < 3) {
        return 0;
    }

    be = data[0] & 1;
    k = data[1] % 8;
    want = 1 + data[2] % 8;

    memcpy(seg, "Exif\0\0", 6);
    memcpy(seg + 6, be ? "MM\0\x2a" : "II\x2a\0", 4);
    put32(seg + 10, be, 8);
    put16(seg + 14, be, k + 1);

    for (i = 0; i < k; i++) {
        e = seg + 16 + i * 12;
        memset(e, 0, 12);

        if (3 + i * 3 + 2 < size) {
            put16(e, be, data[3 + i * 3] << 8 | data[4 + i * 3]);
            put16(e + 2, be, data[5 + i * 3]);
        }

        if (e[0] == 0x01 && e[1] == 0x12) {
            e[1] = 0x13;              /* not a second orientation */
        }

        if (e[0] == 0x12 && e[1] == 0x01) {
            e[0] = 0x13;
        }
    }

    e = seg + 16 + k * 12;
    put16(e, be, 0x0112);
    put16(e + 2, be, 3);
    put32(e + 4, be, 1);
    put16(e + 8, be, (unsigned) want);
    put16(e + 10, be, 0);
    put32(e + 12, be, 0);

    len = 16 + (size_t) (k + 1) * 12 + 4;
    copy = malloc(len);
    FUZZ_CHECK(copy != NULL);
    memcpy(copy, seg, len);

    FUZZ_CHECK(face_exif_orientation(copy, len) == want);
    FUZZ_CHECK(face_exif_tiff_orientation(copy + 6, len - 6) == want);

    free(copy);

    return 0;
}
