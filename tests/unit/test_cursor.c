/* test_cursor.c - unit tests for src/http/cursor.c: a cursor gives back its offset and pins for
 * the query it was made for, and any other cursor is refused. */
#include "tn_test.h"

#include <stdlib.h>

#include "core/core.h"
#include "http/http.h"

static const char SQL[] = "SELECT id FROM sales ORDER BY id";

static char *made(void)
{
    json_t *pins = json_pack("{s:I, s:I}", "default.sales", (json_int_t)3293331020908875300LL,
                             "ops.orders", (json_int_t)7);
    char *c = tn_cursor_make(SQL, 2000, pins);

    json_decref(pins);
    return c;
}

static void test_round_trip(void)
{
    char *c = made();
    struct tn_err err = {0};
    json_t *pins = NULL;
    int64_t offset = -1;

    CHECK_OK(tn_cursor_read(c, SQL, &offset, &pins, &err));
    CHECK_INT_EQ(offset, 2000);
    CHECK(json_integer_value(json_object_get(pins, "default.sales")) == 3293331020908875300LL);
    CHECK_INT_EQ(json_integer_value(json_object_get(pins, "ops.orders")), 7);
    json_decref(pins);
    free(c);
}

static void test_refused(void)
{
    char *c = made(), *changed = tn_strdup(c);
    struct tn_err err = {0};
    json_t *pins = NULL;
    int64_t offset = -1;
    size_t n = strlen(changed);

    for (size_t at = 0; at < n; at += n / 7 + 1) { /* one character changed, anywhere */
        changed[at] = changed[at] == '0' ? '1' : '0';
        CHECK_INT_EQ(tn_cursor_read(changed, SQL, &offset, &pins, &err), TN_EINPUT);
        CHECK(pins == NULL);
        changed[at] = c[at];
    }
    CHECK_INT_EQ(tn_cursor_read(c, "SELECT id FROM sales", &offset, &pins, &err), TN_EINPUT);
    CHECK_CONTAINS(err.msg, "another query");
    CHECK_INT_EQ(tn_cursor_read("", SQL, &offset, &pins, &err), TN_EINPUT);
    CHECK_INT_EQ(tn_cursor_read("abc", SQL, &offset, &pins, &err), TN_EINPUT);
    CHECK_INT_EQ(tn_cursor_read(".", SQL, &offset, &pins, &err), TN_EINPUT);
    changed[n - 1] = '\0'; /* cut short */
    CHECK_INT_EQ(tn_cursor_read(changed, SQL, &offset, &pins, &err), TN_EINPUT);
    CHECK_INT_EQ(offset, -1);
    free(changed);
    free(c);
}

static const struct tn_test cursor[] = {
    {"a cursor gives back its offset and pins", test_round_trip},
    {"changed, cut, foreign or malformed cursors are refused", test_refused},
    {NULL, NULL},
};
TN_SUITE(cursor)
