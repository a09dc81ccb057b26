
/*
 * libFuzzer harness: ngx_http_users_datetime_valid() against a reference
 * written from its contract in ngx_http_users_odata.h alone:
 *
 *     "YYYY-MM-DD", or "YYYY-MM-DDThh:mm:ss[.f{1,9}][Z|+hh:mm|-hh:mm]",
 *     with a real day of the month (Gregorian leap years), hour <= 23,
 *     minute <= 59, second <= 60, offset hour <= 23, offset minute <= 59;
 *     "t" and "z" as well as "T" and "Z" (RFC 3339 section 5.6, NOTE).
 *
 * The reference matches the shape against a pattern first (d: a digit),
 * then checks the numbers; the two must agree on every input.
 */


#include "ngx_stubs.h"
#include "ngx_http_users_odata.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int datetime_reference(const u_char *p, size_t len);
static int datetime_match(const u_char *p, const char *pattern, size_t len);
static int datetime_num(const u_char *p, size_t n);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int      want;
    u_char  *copy;

    /* an exact-size copy: any read past the end is an ASan report */

    copy = malloc(size ? size : 1);
    if (copy == NULL) {
        abort();
    }

    memcpy(copy, data, size);

    want = datetime_reference(copy, size);

    if (ngx_http_users_datetime_valid(copy, size) != want) {
        fprintf(stderr, "datetime_fuzz: \"%.*s\": valid() says %d, the "
                "reference %d\n", (int) size, copy, !want, want);
        abort();
    }

    free(copy);

    return 0;
}


static int
datetime_reference(const u_char *p, size_t len)
{
    int           year, month, day, leap;
    size_t        frac, rest;
    const u_char *zone;

    static const int  mdays[] = { 31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31 };

    if (len < 10 || !datetime_match(p, "dddd-dd-dd", 10)) {
        return 0;
    }

    year = datetime_num(p, 4);
    month = datetime_num(p + 5, 2);
    day = datetime_num(p + 8, 2);

    if (month < 1 || month > 12 || day < 1) {
        return 0;
    }

    leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    if (day > mdays[month - 1] + (month == 2 && leap)) {
        return 0;
    }

    if (len == 10) {
        return 1;
    }

    if (len < 19 || (p[10] != 'T' && p[10] != 't')
        || !datetime_match(p + 11, "dd:dd:dd", 8))
    {
        return 0;
    }

    if (datetime_num(p + 11, 2) > 23 || datetime_num(p + 14, 2) > 59
        || datetime_num(p + 17, 2) > 60)
    {
        return 0;
    }

    zone = p + 19;
    rest = len - 19;

    if (rest && *zone == '.') {
        for (frac = 1; frac < rest && zone[frac] >= '0' && zone[frac] <= '9';
             frac++)
        {
            /* void */
        }

        if (frac - 1 < 1 || frac - 1 > 9) {
            return 0;
        }

        zone += frac;
        rest -= frac;
    }

    if (rest == 0) {
        return 1;
    }

    if (rest == 1) {
        return *zone == 'Z' || *zone == 'z';
    }

    if (rest != 6 || (zone[0] != '+' && zone[0] != '-')
        || !datetime_match(zone + 1, "dd:dd", 5))
    {
        return 0;
    }

    return datetime_num(zone + 1, 2) <= 23 && datetime_num(zone + 4, 2) <= 59;
}


static int
datetime_match(const u_char *p, const char *pattern, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (pattern[i] == 'd' ? !(p[i] >= '0' && p[i] <= '9')
                              : p[i] != (u_char) pattern[i])
        {
            return 0;
        }
    }

    return 1;
}


static int
datetime_num(const u_char *p, size_t n)
{
    int  v;

    for (v = 0; n; n--, p++) {
        v = v * 10 + (*p - '0');
    }

    return v;
}
