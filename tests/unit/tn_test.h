/* tn_test.h - the unit-test framework: CHECK macros that print both values, and suites that
 * register themselves, so adding a test file needs no edit elsewhere. main.c runs every suite and
 * ends with the line "N passed, N failed, N skipped". Tests run with the working directory
 * tests/unit. */
#ifndef TN_TEST_H
#define TN_TEST_H

#include <stdio.h>
#include <string.h>

struct tn_test {
    const char *name;
    void (*fn)(void);
};

void tn_test_register(const char *suite, const struct tn_test *tests);
void tn_test_failed(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Mark the running test skipped, saying why (it must then return): a skip is counted and shown,
 * never passed off as "ok". A test that also failed a CHECK counts as failed. */
void tn_test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Path of ../shared (the folder beside the repository), or NULL when it is absent. */
const char *tn_test_shared_dir(void);
/* A fresh empty temporary directory, removed when the test run ends. */
const char *tn_test_tmpdir(void);
/* "n" bytes at "v" as lowercase hex into "out" (2n + 1 bytes, NUL-terminated). */
void tn_test_hex(const unsigned char *v, size_t n, char *out);

#define TN_SUITE(suite)                                                                            \
    __attribute__((constructor)) static void register_##suite(void)                                \
    {                                                                                              \
        tn_test_register(#suite, suite);                                                           \
    }

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            tn_test_failed(__FILE__, __LINE__, "CHECK(%s)", #cond);                                \
    } while (0)

#define CHECK_INT_EQ(a, b)                                                                         \
    do {                                                                                           \
        long long va_ = (long long)(a), vb_ = (long long)(b);                                      \
        if (va_ != vb_)                                                                            \
            tn_test_failed(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, va_, vb_);        \
    } while (0)

#define CHECK_STR_EQ(a, b)                                                                         \
    do {                                                                                           \
        const char *sa_ = (a), *sb_ = (b);                                                         \
        if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0)                                                 \
            tn_test_failed(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b,               \
                           sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");                            \
    } while (0)

#define CHECK_CONTAINS(hay, needle)                                                                \
    do {                                                                                           \
        const char *ha_ = (hay), *ne_ = (needle);                                                  \
        if (!ha_ || !strstr(ha_, ne_))                                                             \
            tn_test_failed(__FILE__, __LINE__, "\"%s\" should contain \"%s\"",                     \
                           ha_ ? ha_ : "(null)", ne_);                                             \
    } while (0)

/* A call returning 0 on success and filling a struct tn_err named "err" otherwise. */
#define CHECK_OK(call)                                                                             \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_)                                                                                   \
            tn_test_failed(__FILE__, __LINE__, "%s failed (%d): %s", #call, rc_, err.msg);         \
    } while (0)

#endif /* TN_TEST_H */
