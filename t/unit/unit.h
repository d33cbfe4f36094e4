/*
 * A tiny unit-test runner: no framework, no nginx.
 *
 * A test file defines UNIT_TEST(name) functions and ends with
 * UNIT_MAIN(test1, test2, ...).  The runner prints one line per failed
 * check and, last, "N passed, N failed"; the exit code is non-zero when
 * anything failed.
 */

#ifndef _UNIT_H_INCLUDED_
#define _UNIT_H_INCLUDED_


#include <stdio.h>
#include <string.h>
#include <stdint.h>


typedef void (*unit_test_pt)(void);

typedef struct {
    const char    *name;
    unit_test_pt   fn;
} unit_case_t;


static unsigned  unit_passed;
static unsigned  unit_failed;
static unsigned  unit_checks_failed;
static const char  *unit_current;


#define UNIT_TEST(name)  static void name(void)

#define UNIT_FAIL_(file, line, fmt, ...)                                      \
    do {                                                                      \
        unit_checks_failed++;                                                 \
        fprintf(stderr, "FAIL %s (%s:%d): " fmt "\n",                         \
                unit_current, file, line, __VA_ARGS__);                       \
    } while (0)

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            UNIT_FAIL_(__FILE__, __LINE__, "%s", #cond);                      \
        }                                                                     \
    } while (0)

#define CHECK_INT(a, b)                                                       \
    do {                                                                      \
        long long  a_ = (long long) (a), b_ = (long long) (b);                \
        if (a_ != b_) {                                                       \
            UNIT_FAIL_(__FILE__, __LINE__, "%s == %lld, expected %lld",       \
                       #a, a_, b_);                                           \
        }                                                                     \
    } while (0)

#define CHECK_STR(a, b)                                                       \
    do {                                                                      \
        const char  *a_ = (a), *b_ = (b);                                     \
        if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {                \
            UNIT_FAIL_(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"",   \
                       #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)");           \
        }                                                                     \
    } while (0)

#define CHECK_MEM(a, b, n)                                                    \
    do {                                                                      \
        if (memcmp((a), (b), (n)) != 0) {                                     \
            UNIT_FAIL_(__FILE__, __LINE__, "%s differs from %s (%zu bytes)",  \
                       #a, #b, (size_t) (n));                                 \
        }                                                                     \
    } while (0)


static int
unit_run(const char *file, const unit_case_t *cases, size_t n)
{
    size_t    i;
    unsigned  before;

    for (i = 0; i < n; i++) {
        unit_current = cases[i].name;
        before = unit_checks_failed;

        cases[i].fn();

        if (unit_checks_failed == before) {
            unit_passed++;

        } else {
            unit_failed++;
        }
    }

    printf("%s: %u passed, %u failed\n", file, unit_passed, unit_failed);

    return unit_failed ? 1 : 0;
}


#define UNIT_CASE_(fn)  { #fn, fn }

#define UNIT_MAIN(...)                                                        \
    int                                                                       \
    main(void)                                                                \
    {                                                                         \
        static const unit_case_t  cases[] = { UNIT_CASES_(__VA_ARGS__) };    \
        return unit_run(__FILE__, cases, sizeof(cases) / sizeof(cases[0]));  \
    }


/* expand a list of up to 64 names into { "name", name } pairs */

#define UNIT_CASES_(...)  UNIT_MAP_(UNIT_CASE_, __VA_ARGS__)

#define UNIT_MAP_(f, ...)                                                     \
    UNIT_GET_(__VA_ARGS__,                                                    \
    UNIT_M64_, UNIT_M63_, UNIT_M62_, UNIT_M61_, UNIT_M60_, UNIT_M59_,         \
    UNIT_M58_, UNIT_M57_, UNIT_M56_, UNIT_M55_, UNIT_M54_, UNIT_M53_,         \
    UNIT_M52_, UNIT_M51_, UNIT_M50_, UNIT_M49_, UNIT_M48_, UNIT_M47_,         \
    UNIT_M46_, UNIT_M45_, UNIT_M44_, UNIT_M43_, UNIT_M42_, UNIT_M41_,         \
    UNIT_M40_, UNIT_M39_, UNIT_M38_, UNIT_M37_, UNIT_M36_, UNIT_M35_,         \
    UNIT_M34_, UNIT_M33_, UNIT_M32_, UNIT_M31_, UNIT_M30_, UNIT_M29_,         \
    UNIT_M28_, UNIT_M27_, UNIT_M26_, UNIT_M25_, UNIT_M24_, UNIT_M23_,         \
    UNIT_M22_, UNIT_M21_, UNIT_M20_, UNIT_M19_, UNIT_M18_, UNIT_M17_,         \
    UNIT_M16_, UNIT_M15_, UNIT_M14_, UNIT_M13_, UNIT_M12_, UNIT_M11_,         \
    UNIT_M10_, UNIT_M9_, UNIT_M8_, UNIT_M7_, UNIT_M6_, UNIT_M5_, UNIT_M4_,    \
    UNIT_M3_, UNIT_M2_, UNIT_M1_)(f, __VA_ARGS__)

#define UNIT_GET_(                                                            \
    _1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16,   \
    _17, _18, _19, _20, _21, _22, _23, _24, _25, _26, _27, _28, _29, _30,    \
    _31, _32, _33, _34, _35, _36, _37, _38, _39, _40, _41, _42, _43, _44,    \
    _45, _46, _47, _48, _49, _50, _51, _52, _53, _54, _55, _56, _57, _58,    \
    _59, _60, _61, _62, _63, _64, m, ...)  m

#define UNIT_M1_(f, x)  f(x)
#define UNIT_M2_(f, x, ...)  f(x), UNIT_M1_(f, __VA_ARGS__)
#define UNIT_M3_(f, x, ...)  f(x), UNIT_M2_(f, __VA_ARGS__)
#define UNIT_M4_(f, x, ...)  f(x), UNIT_M3_(f, __VA_ARGS__)
#define UNIT_M5_(f, x, ...)  f(x), UNIT_M4_(f, __VA_ARGS__)
#define UNIT_M6_(f, x, ...)  f(x), UNIT_M5_(f, __VA_ARGS__)
#define UNIT_M7_(f, x, ...)  f(x), UNIT_M6_(f, __VA_ARGS__)
#define UNIT_M8_(f, x, ...)  f(x), UNIT_M7_(f, __VA_ARGS__)
#define UNIT_M9_(f, x, ...)  f(x), UNIT_M8_(f, __VA_ARGS__)
#define UNIT_M10_(f, x, ...)  f(x), UNIT_M9_(f, __VA_ARGS__)
#define UNIT_M11_(f, x, ...)  f(x), UNIT_M10_(f, __VA_ARGS__)
#define UNIT_M12_(f, x, ...)  f(x), UNIT_M11_(f, __VA_ARGS__)
#define UNIT_M13_(f, x, ...)  f(x), UNIT_M12_(f, __VA_ARGS__)
#define UNIT_M14_(f, x, ...)  f(x), UNIT_M13_(f, __VA_ARGS__)
#define UNIT_M15_(f, x, ...)  f(x), UNIT_M14_(f, __VA_ARGS__)
#define UNIT_M16_(f, x, ...)  f(x), UNIT_M15_(f, __VA_ARGS__)
#define UNIT_M17_(f, x, ...)  f(x), UNIT_M16_(f, __VA_ARGS__)
#define UNIT_M18_(f, x, ...)  f(x), UNIT_M17_(f, __VA_ARGS__)
#define UNIT_M19_(f, x, ...)  f(x), UNIT_M18_(f, __VA_ARGS__)
#define UNIT_M20_(f, x, ...)  f(x), UNIT_M19_(f, __VA_ARGS__)
#define UNIT_M21_(f, x, ...)  f(x), UNIT_M20_(f, __VA_ARGS__)
#define UNIT_M22_(f, x, ...)  f(x), UNIT_M21_(f, __VA_ARGS__)
#define UNIT_M23_(f, x, ...)  f(x), UNIT_M22_(f, __VA_ARGS__)
#define UNIT_M24_(f, x, ...)  f(x), UNIT_M23_(f, __VA_ARGS__)
#define UNIT_M25_(f, x, ...)  f(x), UNIT_M24_(f, __VA_ARGS__)
#define UNIT_M26_(f, x, ...)  f(x), UNIT_M25_(f, __VA_ARGS__)
#define UNIT_M27_(f, x, ...)  f(x), UNIT_M26_(f, __VA_ARGS__)
#define UNIT_M28_(f, x, ...)  f(x), UNIT_M27_(f, __VA_ARGS__)
#define UNIT_M29_(f, x, ...)  f(x), UNIT_M28_(f, __VA_ARGS__)
#define UNIT_M30_(f, x, ...)  f(x), UNIT_M29_(f, __VA_ARGS__)
#define UNIT_M31_(f, x, ...)  f(x), UNIT_M30_(f, __VA_ARGS__)
#define UNIT_M32_(f, x, ...)  f(x), UNIT_M31_(f, __VA_ARGS__)
#define UNIT_M33_(f, x, ...)  f(x), UNIT_M32_(f, __VA_ARGS__)
#define UNIT_M34_(f, x, ...)  f(x), UNIT_M33_(f, __VA_ARGS__)
#define UNIT_M35_(f, x, ...)  f(x), UNIT_M34_(f, __VA_ARGS__)
#define UNIT_M36_(f, x, ...)  f(x), UNIT_M35_(f, __VA_ARGS__)
#define UNIT_M37_(f, x, ...)  f(x), UNIT_M36_(f, __VA_ARGS__)
#define UNIT_M38_(f, x, ...)  f(x), UNIT_M37_(f, __VA_ARGS__)
#define UNIT_M39_(f, x, ...)  f(x), UNIT_M38_(f, __VA_ARGS__)
#define UNIT_M40_(f, x, ...)  f(x), UNIT_M39_(f, __VA_ARGS__)
#define UNIT_M41_(f, x, ...)  f(x), UNIT_M40_(f, __VA_ARGS__)
#define UNIT_M42_(f, x, ...)  f(x), UNIT_M41_(f, __VA_ARGS__)
#define UNIT_M43_(f, x, ...)  f(x), UNIT_M42_(f, __VA_ARGS__)
#define UNIT_M44_(f, x, ...)  f(x), UNIT_M43_(f, __VA_ARGS__)
#define UNIT_M45_(f, x, ...)  f(x), UNIT_M44_(f, __VA_ARGS__)
#define UNIT_M46_(f, x, ...)  f(x), UNIT_M45_(f, __VA_ARGS__)
#define UNIT_M47_(f, x, ...)  f(x), UNIT_M46_(f, __VA_ARGS__)
#define UNIT_M48_(f, x, ...)  f(x), UNIT_M47_(f, __VA_ARGS__)
#define UNIT_M49_(f, x, ...)  f(x), UNIT_M48_(f, __VA_ARGS__)
#define UNIT_M50_(f, x, ...)  f(x), UNIT_M49_(f, __VA_ARGS__)
#define UNIT_M51_(f, x, ...)  f(x), UNIT_M50_(f, __VA_ARGS__)
#define UNIT_M52_(f, x, ...)  f(x), UNIT_M51_(f, __VA_ARGS__)
#define UNIT_M53_(f, x, ...)  f(x), UNIT_M52_(f, __VA_ARGS__)
#define UNIT_M54_(f, x, ...)  f(x), UNIT_M53_(f, __VA_ARGS__)
#define UNIT_M55_(f, x, ...)  f(x), UNIT_M54_(f, __VA_ARGS__)
#define UNIT_M56_(f, x, ...)  f(x), UNIT_M55_(f, __VA_ARGS__)
#define UNIT_M57_(f, x, ...)  f(x), UNIT_M56_(f, __VA_ARGS__)
#define UNIT_M58_(f, x, ...)  f(x), UNIT_M57_(f, __VA_ARGS__)
#define UNIT_M59_(f, x, ...)  f(x), UNIT_M58_(f, __VA_ARGS__)
#define UNIT_M60_(f, x, ...)  f(x), UNIT_M59_(f, __VA_ARGS__)
#define UNIT_M61_(f, x, ...)  f(x), UNIT_M60_(f, __VA_ARGS__)
#define UNIT_M62_(f, x, ...)  f(x), UNIT_M61_(f, __VA_ARGS__)
#define UNIT_M63_(f, x, ...)  f(x), UNIT_M62_(f, __VA_ARGS__)
#define UNIT_M64_(f, x, ...)  f(x), UNIT_M63_(f, __VA_ARGS__)


#endif /* _UNIT_H_INCLUDED_ */
