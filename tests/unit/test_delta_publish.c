/* test_delta_publish.c - the pieces of Delta publishing (src/delta/publish.c) that need no table:
 * Delta durations (delta.logRetentionDuration, delta.deletedFileRetentionDuration), and which
 * files in a table folder belong to its Delta view. */
#include "delta/publish.h"
#include "tn_test.h"

static void durations(void)
{
    int64_t ms = -1;

    CHECK_INT_EQ(tn_delta_duration_ms("interval 30 days", &ms), 0);
    CHECK_INT_EQ(ms, 30LL * 86400000);
    CHECK_INT_EQ(tn_delta_duration_ms("interval 1 week", &ms), 0);
    CHECK_INT_EQ(ms, 7LL * 86400000);
    CHECK_INT_EQ(tn_delta_duration_ms("INTERVAL 2 hours 30 minutes", &ms), 0);
    CHECK_INT_EQ(ms, 9000000);
    CHECK_INT_EQ(tn_delta_duration_ms("interval 0 seconds", &ms), 0);
    CHECK_INT_EQ(ms, 0);
    CHECK_INT_EQ(tn_delta_duration_ms("1 second 500 milliseconds", &ms), 0);
    CHECK_INT_EQ(ms, 1500);
    /* refused: no amount, months (not a fixed length), unknown units, negatives, overflow */
    CHECK_INT_EQ(tn_delta_duration_ms("interval", &ms), -1);
    CHECK_INT_EQ(tn_delta_duration_ms("", &ms), -1);
    CHECK_INT_EQ(tn_delta_duration_ms("interval 1 month", &ms), -1);
    CHECK_INT_EQ(tn_delta_duration_ms("interval 3 fortnights", &ms), -1);
    CHECK_INT_EQ(tn_delta_duration_ms("interval -1 day", &ms), -1);
    CHECK_INT_EQ(tn_delta_duration_ms("interval 5", &ms), -1);
    CHECK_INT_EQ(tn_delta_duration_ms("forever", &ms), -1);
    CHECK_INT_EQ(tn_delta_duration_ms("interval 99999999999999999 weeks", &ms), -1);
}

static void owned_files(void)
{
    const char *t = "s3://b/wh/db/t/";

    CHECK(tn_delta_owns(t, "s3://b/wh/db/t/_delta_log/00000000000000000001.json"));
    CHECK(tn_delta_owns(t, "s3://b/wh/db/t/_change_data/cdc-1.parquet"));
    CHECK(tn_delta_owns(t, "s3://b/wh/db/t/deletion_vector_x.bin"));
    CHECK(!tn_delta_owns(t, "s3://b/wh/db/t/data/x.parquet"));
    CHECK(!tn_delta_owns(t, "s3://b/wh/db/u/_change_data/cdc-1.parquet"));
}

static const struct tn_test delta_publish[] = {
    {"Delta durations", durations},
    {"files of the Delta view are not orphans", owned_files},
    {NULL, NULL},
};
TN_SUITE(delta_publish)
