
/*
 * EXIF orientation from a JPEG's APP1 segment or a WebP's EXIF chunk: the
 * one tag the face engine reads (0x0112 in IFD0), every offset checked
 * against the segment.  Pure: unit-tested and fuzzed on its own.
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "face_internal.h"


/* EXIF orientation (1..8) of an APP1 segment's data; 1 when there is none */

int
face_exif_orientation(const uint8_t *p, size_t len)
{
    if (len < 14 || memcmp(p, "Exif\0\0", 6) != 0) {
        return 1;
    }

    return face_exif_tiff_orientation(p + 6, len - 6);
}


/* the same of the TIFF header and IFDs that follow "Exif\0\0" */

int
face_exif_tiff_orientation(const uint8_t *p, size_t len)
{
    int       be, i, n, tag, type, v;
    size_t    ifd, e;

    if (len < 8) {
        return 1;
    }

    if (memcmp(p, "MM\0\x2a", 4) == 0) {
        be = 1;

    } else if (memcmp(p, "II\x2a\0", 4) == 0) {
        be = 0;

    } else {
        return 1;
    }

#define face_exif_u16(q)  (be ? (q)[0] << 8 | (q)[1] : (q)[1] << 8 | (q)[0])
#define face_exif_u32(q)  (be ? (size_t) (q)[0] << 24 | (q)[1] << 16          \
                                | (q)[2] << 8 | (q)[3]                        \
                              : (size_t) (q)[3] << 24 | (q)[2] << 16          \
                                | (q)[1] << 8 | (q)[0])

    ifd = face_exif_u32(p + 4);

    if (ifd < 8 || ifd > len - 2) {
        return 1;
    }

    n = face_exif_u16(p + ifd);

    for (i = 0; i < n; i++) {
        e = ifd + 2 + (size_t) i * 12;

        if (e + 12 > len) {
            return 1;
        }

        tag = face_exif_u16(p + e);
        type = face_exif_u16(p + e + 2);

        if (tag != 0x0112) {
            continue;
        }

        /* SHORT, count 1: the value sits in the entry's first two bytes */

        if (type != 3 || face_exif_u32(p + e + 4) != 1) {
            return 1;
        }

        v = face_exif_u16(p + e + 8);

        return v >= 1 && v <= 8 ? v : 1;
    }

#undef face_exif_u16
#undef face_exif_u32

    return 1;
}
