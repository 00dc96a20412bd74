/* replay.c - a plain main for a fuzz target: runs its LLVMFuzzerTestOneInput once on each file
 * named on the command line, so the corpus replays as a test without libFuzzer (fuzz/fuzz.sh
 * replay builds it with each target under AddressSanitizer and UndefinedBehaviorSanitizer). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional, as libFuzzer has it: a target that sets itself up once (fuzz_statement.c). */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

int main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        uint8_t *data;
        long n;

        if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
            perror(argv[i]);
            return 2;
        }
        /* a copy of exactly the file's size, so reads past its end are caught */
        data = malloc(n ? (size_t)n : 1);
        if (!data || fread(data, 1, (size_t)n, f) != (size_t)n) {
            perror(argv[i]);
            return 2;
        }
        fclose(f);
        LLVMFuzzerTestOneInput(data, (size_t)n);
        free(data);
    }
    return 0;
}
