/* scratch.c - a throwaway warehouse under /tmp for the C benchmarks. */
#include <stdio.h>
#include <stdlib.h>

#include "scratch.h"

int scratch_open(char *dir, struct tn_warehouse **wh, struct tn_session **s)
{
    struct tn_warehouse_options wo = {0};
    struct tn_err err = {0};

    if (!mkdtemp(dir)) {
        perror("bench: mkdtemp");
        return -1;
    }
    wo.warehouse = dir;
    if (tn_warehouse_open(&wo, wh, &err) || tn_session_open((*wh)->engine, s, &err)) {
        fprintf(stderr, "bench: %s\n", err.msg);
        return -1;
    }
    return 0;
}

void scratch_close(const char *dir, struct tn_warehouse *wh, struct tn_session *s)
{
    char *cmd = tn_asprintf("rm -rf '%s'", dir);

    tn_session_close(s);
    tn_warehouse_close(wh);
    if (system(cmd)) /* checksrc: allow system */
        fprintf(stderr, "bench: could not remove %s\n", dir);
    free(cmd);
}
