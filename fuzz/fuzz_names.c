/* fuzz_names.c - libFuzzer target for the small parsers every request passes through: table and
 * namespace names and "ns.table" identifiers (src/core/util.c), a REST path's namespace
 * (levels separated by 0x1F), the OAuth token request's form-urlencoded body
 * (src/http/routes_iceberg.c), sizes and integers from query strings and options. Each must
 * accept or refuse, never crash, leak or read out of bounds; an accepted name must be a safe
 * SQL identifier ([a-z_][a-z0-9_]*). Seeds in corpus/names/ (see corpus/README). Run with
 * `make fuzz-run FUZZ_TARGETS=names`. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An accepted name must be a plain identifier. */
static void check_name(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > TN_NAME_MAX || (*name >= '0' && *name <= '9') ||
        strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != n)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    char ns[TN_NAME_MAX + 1], name[TN_NAME_MAX + 1];
    struct tn_err err;
    uint64_t u;
    int64_t i;
    json_t *form;

    memcpy(text, data, size);
    text[size] = '\0'; /* names arrive as C strings: up to the first NUL */
    if (tn_name_check("table", text, name, &err) == 0)
        check_name(name);
    if (tn_ident_parse(text, ns, name, &err) == 0) {
        check_name(name);
        check_name(ns);
    }
    if (tn__iceberg_ns_from_path(text, ns, &err) == 0) {
        char *p = ns, *dot;
        for (; (dot = strchr(p, '.')) != NULL; p = dot + 1) {
            *dot = '\0';
            check_name(p);
        }
        check_name(p);
    }
    (void)tn_http_parse_size(text, &u);
    (void)tn_parse_i64(text, &i);
    form = tn__http_form_parse(text);
    json_decref(form);
    free(text);
    return 0;
}
