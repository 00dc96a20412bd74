/* env.c - every environment variable the library's settings come from, read here at the entry
 * point and handed down as options (no module below src/cli calls getenv). Flags on the command
 * line are applied after these, so they win. */
#include "cli.h"
#include "http/http.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The variable's value, or NULL when it is unset or empty. */
static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* The whole-number S3 settings, each a variable and, for some, a flag too. */
static const struct s3_setting {
    const char *var, *flag;
    int lo, hi;
    size_t offset; /* of its int field in struct tn_storage_options */
} s3_settings[] = {
    {"TARN_S3_PARALLEL", NULL, 1, 64, offsetof(struct tn_storage_options, parallel)},
    {"TARN_S3_MAX_ATTEMPTS", NULL, 1, 100, offsetof(struct tn_storage_options, s3_max_attempts)},
    {"TARN_S3_RETRY_SECONDS", NULL, 1, 3600, offsetof(struct tn_storage_options, s3_retry_seconds)},
    {"TARN_S3_TIMEOUT", "s3-timeout", 1, 86400, offsetof(struct tn_storage_options, s3_timeout_s)},
    {"TARN_S3_LOW_SPEED_LIMIT", "s3-low-speed-limit", 1, 1 << 30,
     offsetof(struct tn_storage_options, s3_low_speed_limit)},
    {"TARN_S3_LOW_SPEED_TIME", "s3-low-speed-time", 1, 3600,
     offsetof(struct tn_storage_options, s3_low_speed_s)},
    {"TARN_S3_LIST_PAGE", NULL, 1, 1000, offsetof(struct tn_storage_options, s3_list_page)},
};

/* Set setting "k" of "so" from "text" ("what" names its source in the error). */
static int s3_setting_set(struct tn_storage_options *so, const struct s3_setting *k,
                          const char *what, const char *text, struct tn_err *err)
{
    int64_t n;

    if (tn_parse_i64(text, &n) || n < k->lo || n > k->hi)
        return tn_fail(err, TN_EINPUT, "%s must be a whole number from %d to %d, not '%.40s'", what,
                       k->lo, k->hi, text);
    *(int *)(void *)((char *)so + k->offset) = (int)n;
    return 0;
}

int cli_storage_flag(struct tn_storage_options *so, const char *flag, const char *value,
                     struct tn_err *err)
{
    for (size_t i = 0; i < sizeof(s3_settings) / sizeof(s3_settings[0]); i++) {
        if (s3_settings[i].flag && strcmp(s3_settings[i].flag, flag) == 0) {
            char what[64];
            snprintf(what, sizeof(what), "--%s", flag);
            return s3_setting_set(so, &s3_settings[i], what, value, err);
        }
    }
    return tn_fail(err, TN_EINPUT, "unknown storage option --%s", flag);
}

/* A byte size ("64MB", "1GiB") in variable "name", into *out (left alone when unset). */
static int env_size(const char *name, int64_t *out, struct tn_err *err)
{
    const char *v = env(name);
    int64_t n;

    if (!v)
        return 0;
    if (tn_storage_parse_size(v, &n) || n <= 0)
        return tn_fail(err, TN_EINPUT, "%s must be a size such as 500MB or 10GiB, not '%.40s'",
                       name, v);
    *out = n;
    return 0;
}

int cli_env_storage(struct tn_storage_options *so, struct tn_err *err)
{
    const char *style = env("TARN_S3_PATH_STYLE"), *stats = env("TARN_STORAGE_STATS");
    int rc;

    so->s3_endpoint = env("TARN_S3_ENDPOINT");
    so->s3_region = env("TARN_S3_REGION");
    if (!so->s3_region)
        so->s3_region = env("AWS_REGION");
    if (!so->s3_region)
        so->s3_region = env("AWS_DEFAULT_REGION");
    if (style)
        so->s3_path_style = strcmp(style, "0") == 0 || strcmp(style, "false") == 0
                                ? TN_S3_STYLE_VIRTUAL
                                : TN_S3_STYLE_PATH;
    so->s3_access_key = env("AWS_ACCESS_KEY_ID");
    so->s3_secret_key = env("AWS_SECRET_ACCESS_KEY");
    so->s3_session_token = env("AWS_SESSION_TOKEN");
    so->cache_dir = env("TARN_CACHE_DIR");
    so->print_stats = stats && strcmp(stats, "0") != 0;
    /* tests: injected storage failures (TARN_S3_FAULT is the older name) */
    so->fault = env("TARN_FAULT") ? env("TARN_FAULT") : env("TARN_S3_FAULT");
    rc = env_size("TARN_CACHE_SIZE", &so->cache_size, err);
    if (!rc)
        rc = env_size("TARN_S3_MULTIPART_THRESHOLD", &so->multipart_threshold, err);
    if (!rc)
        rc = env_size("TARN_S3_PART_SIZE", &so->part_size, err);
    for (size_t i = 0; !rc && i < sizeof(s3_settings) / sizeof(s3_settings[0]); i++) {
        const char *v = env(s3_settings[i].var);
        if (v)
            rc = s3_setting_set(so, &s3_settings[i], s3_settings[i].var, v, err);
    }
    return rc;
}

int cli_env_serve(struct tn_http_options *o, struct tn_err *err)
{
    static const char *const names[][2] = {
        {"TARN_HOST", "host"},
        {"TARN_PORT", "port"},
        {"TARN_TOKEN", "token"},
        {"TARN_CLIENT", "client"},
        {"TARN_VEND_CREDENTIALS", "vend-credentials"},
        {"TARN_NO_AUTH", "no-auth"},
        {"TARN_MAX_UPLOAD", "max-upload"},
        {"TARN_QUERY_TIMEOUT", "query-timeout"},
        {"TARN_MAINTAIN_EVERY", "maintain-every"},
        {"TARN_CORS_ORIGIN", "cors-origin"},
        {"TARN_ALLOWED_HOSTS", "allowed-host"},
        {"TARN_HEADER_TIMEOUT", "header-timeout"},
        {"TARN_MAX_CLIENT_CONNECTIONS", "max-client-connections"},
        {"TARN_QUIET", "quiet"},
        {"TARN_DELTA", "delta"},
        {"TARN_SOURCES", "source"},
        {"TARN_ALLOW_SOURCES", "allow-sources"},
        {"TARN_SYNC", "sync"},
        {"TARN_LLM_URL", "llm-url"},
        {"TARN_LLM_MODEL", "llm-model"},
        {"TARN_LLM_API_KEY", "llm-api-key"},
        {"TARN_ASK_SAMPLE_ROWS", "ask-sample-rows"},
        {"TARN_REST_TOKEN_TTL", "rest-token-ttl"}, /* tests of token expiry; no flag */
        {"TARN_STREAM_PIECE", "stream-piece"}, /* tests of a streamed upload's pieces; no flag */
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *v = getenv(names[i][0]);
        if (v && tn_http_option_set(o, names[i][1], v, err)) {
            tn_err_prefix(err, "%s: ", names[i][0]);
            return err->code;
        }
    }
    return 0;
}
