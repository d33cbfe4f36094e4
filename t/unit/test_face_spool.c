
/*
 * Unit tests for face_spool.c: job names, the job file's format and
 * which temporary files are stale.
 */


#include "unit.h"
#include "face_spool.h"


UNIT_TEST(test_name)
{
    char    buf[FACE_SPOOL_NAME_LEN], other[FACE_SPOOL_NAME_LEN];
    size_t  n;

    n = face_spool_name(buf, 1763890000123ULL, 4242, 7);
    CHECK_STR(buf, "1763890000123-4242-7.job");
    CHECK_INT(n, strlen(buf));
    CHECK_INT(face_spool_name_ok(buf), 1);

    /* names sort by time, also across the digit-count of the pid */
    face_spool_name(buf, 999, 1, 1);
    CHECK_STR(buf, "0000000000999-1-1.job");
    face_spool_name(other, 1000, 99999, 1);
    CHECK(strcmp(buf, other) < 0);

    /* the longest name fits */
    n = face_spool_name(buf, 18446744073709551615ULL, 4294967295UL,
                        18446744073709551615UL);
    CHECK(n < FACE_SPOOL_NAME_LEN);
}


UNIT_TEST(test_name_ok)
{
    CHECK_INT(face_spool_name_ok("1763890000123-1-0.job"), 1);
    CHECK_INT(face_spool_name_ok("1763890000123-1-0.job.tmp"), 0);
    CHECK_INT(face_spool_name_ok("176389000012-1-0.job"), 0);
    CHECK_INT(face_spool_name_ok("1763890000123-1.job"), 0);
    CHECK_INT(face_spool_name_ok("1763890000123--0.job"), 0);
    CHECK_INT(face_spool_name_ok("1763890000123-a-0.job"), 0);
    CHECK_INT(face_spool_name_ok(".1763890000123-1-0.job"), 0);
    CHECK_INT(face_spool_name_ok("../1763890000123-1-0.job"), 0);
    CHECK_INT(face_spool_name_ok("failed"), 0);
    CHECK_INT(face_spool_name_ok(""), 0);
}


UNIT_TEST(test_tmp_stale)
{
    const char  *job = "1763890000123-4242-7.job";
    int64_t      now = 1763890000;

    /* old enough: a crash before the rename */
    CHECK_INT(face_spool_tmp_stale(job, now - FACE_SPOOL_TMP_STALE, now), 1);
    CHECK_INT(face_spool_tmp_stale(job, now - 7200, now), 1);
    CHECK_INT(face_spool_tmp_stale(job, 0, now), 1);

    /* a worker may be writing it */
    CHECK_INT(face_spool_tmp_stale(job, now, now), 0);
    CHECK_INT(face_spool_tmp_stale(job, now - FACE_SPOOL_TMP_STALE + 1, now),
              0);

    /* from the future (the clock was set back): kept */
    CHECK_INT(face_spool_tmp_stale(job, now + 3600, now), 0);

    /* not a job's temporary file: never ours to remove */
    CHECK_INT(face_spool_tmp_stale("notes.txt", 0, now), 0);
    CHECK_INT(face_spool_tmp_stale("1763890000123-4242-7.job.swp", 0, now),
              0);
    CHECK_INT(face_spool_tmp_stale(".", 0, now), 0);
    CHECK_INT(face_spool_tmp_stale("..", 0, now), 0);
}


UNIT_TEST(test_header_roundtrip)
{
    char    buf[256];
    size_t  n, hl, ns, so, po;

    hl = face_spool_header(buf, 3);
    CHECK_STR(buf, "face-job 1 3\n");
    CHECK_INT(hl, 13);

    memcpy(buf + hl, ".DF\n{\"a\":1}", 11);
    n = hl + 11;

    CHECK_INT(face_spool_parse(buf, n, &ns, &so, &po), 0);
    CHECK_INT(ns, 3);
    CHECK_INT(so, 13);
    CHECK_INT(po, 17);
    CHECK(memcmp(buf + po, "{\"a\":1}", 7) == 0);

    /* no sources */
    hl = face_spool_header(buf, 0);
    memcpy(buf + hl, "\n{}", 3);
    CHECK_INT(face_spool_parse(buf, hl + 3, &ns, &so, &po), 0);
    CHECK_INT(ns, 0);
    CHECK_INT(po, hl + 1);
}


UNIT_TEST(test_parse_bad)
{
    size_t       ns, so, po;
    const char  *bad[] = {
        "",
        "face-job 1 ",
        "face-job 2 1\n.\n{}",
        "face-job 1 x\n.\n{}",
        "face-job 1 1",
        "face-job 1 1\n",
        "face-job 1 1\n.",
        "face-job 1 1\n.\n",                 /* payload cut */
        "face-job 1 2\n.\n{}",               /* state cut */
        "face-job 1 1\nX\n{}",               /* bad state byte */
        "face-job 1 1234567890\n",           /* absurd count */
        NULL
    };
    size_t       i;

    for (i = 0; bad[i] != NULL; i++) {
        if (face_spool_parse(bad[i], strlen(bad[i]), &ns, &so, &po) != -1) {
            UNIT_FAIL_(__FILE__, __LINE__, "accepted \"%s\"", bad[i]);
        }
    }

    CHECK_INT(face_spool_parse("face-job 1 1\n.\n{}", 18, &ns, &so, &po), 0);
}


UNIT_MAIN(test_name, test_name_ok, test_tmp_stale, test_header_roundtrip,
          test_parse_bad)
