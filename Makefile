# tarn - build, test and run. `make` builds build/tarn; `make test` runs every test; `make run`
# installs what is missing, builds and starts tarn on ./warehouse.

CC        ?= gcc
DUCKDB_LIB = node_modules/@duckdb/node-bindings-linux-x64
DUCKDB_INC = node_modules/duckdb/src/duckdb/src/include
WARN      = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith \
            -Wwrite-strings -Wvla -Wformat=2 -Wimplicit-fallthrough -Wundef
CFLAGS_BASE = -std=c11 -D_GNU_SOURCE -g $(WARN) -Isrc -isystem $(DUCKDB_INC) \
              -isystem /usr/include/postgresql $(EXTRA_CFLAGS)
LIBS      = -L$(DUCKDB_LIB) -lduckdb -Wl,-rpath,$(abspath $(DUCKDB_LIB)) \
            -lsqlite3 -ljansson -lmicrohttpd -lpq -lcurl -lcrypto -ledit -lz -lsnappy -lzstd -lpthread -lm

BUILD    ?= build
OPTFLAGS ?= -O2
CFLAGS    = $(CFLAGS_BASE) $(OPTFLAGS)

LIB_SRC   = $(sort $(wildcard src/*/*.c))
LIB_OBJ   = $(LIB_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC  = $(sort $(wildcard tests/unit/*.c))
UNIT_OBJ  = $(UNIT_SRC:%.c=$(BUILD)/%.o)

ASAN_FLAGS = -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
TSAN_FLAGS = -O1 -fsanitize=thread -fno-omit-frame-pointer

# Fuzz targets: every fuzz/fuzz_NAME.c, seeded from fuzz/corpus/NAME/ (see fuzz/corpus/README).
FUZZ_NAMES   = $(patsubst fuzz/fuzz_%.c,%,$(sort $(wildcard fuzz/fuzz_*.c)))
FUZZ_TARGETS ?= $(FUZZ_NAMES)
FUZZ_TIME    ?= 20

.PHONY: all deps run test test-unit test-asan test-fuzz test-tsan fuzz fuzz-run lint \
        format format-check clean
all: $(BUILD)/tarn

deps: $(DUCKDB_LIB)/libduckdb.so

$(DUCKDB_LIB)/libduckdb.so $(DUCKDB_INC)/duckdb.h: package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	touch $(DUCKDB_LIB)/libduckdb.so

$(BUILD)/%.o: %.c $(DUCKDB_INC)/duckdb.h $(wildcard src/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# The browser console (web/) compiled in as byte arrays.
WEB_SRC = $(sort $(wildcard web/*.html web/*.js web/*.css))
$(BUILD)/gen/web_assets.c: $(WEB_SRC) scripts/embed-web.sh
	@mkdir -p $(dir $@)
	bash scripts/embed-web.sh $@ $(WEB_SRC)

$(BUILD)/gen/web_assets.o: $(BUILD)/gen/web_assets.c src/http/web_assets.h
	$(CC) $(CFLAGS) -c $< -o $@

# made afresh each time: "ar r" into an old archive would keep members of moved or deleted files
$(BUILD)/libtarn.a: $(filter-out $(BUILD)/src/cli/main.o,$(LIB_OBJ)) $(BUILD)/gen/web_assets.o
	rm -f $@
	ar rcs $@ $^

$(BUILD)/tarn: $(BUILD)/src/cli/main.o $(BUILD)/libtarn.a
	$(CC) $(CFLAGS) $^ -o $@ $(LIBS)

$(BUILD)/unit_tests: $(UNIT_OBJ) $(BUILD)/libtarn.a
	$(CC) $(CFLAGS) $^ -o $@ $(LIBS)

# bench/commit, history, upsert and small-commits: C benchmarks on a scratch warehouse
$(BUILD)/bench-%: $(BUILD)/bench/%.o $(BUILD)/bench/scratch.o $(BUILD)/libtarn.a
	$(CC) $(CFLAGS) $^ -o $@ $(LIBS)

test-unit: $(BUILD)/unit_tests
	cd tests/unit && ../../$(BUILD)/unit_tests

# The same unit tests under AddressSanitizer and UndefinedBehaviorSanitizer.
test-asan:
	$(MAKE) BUILD=build/asan OPTFLAGS="$(ASAN_FLAGS)" build/asan/unit_tests build/asan/tarn
	cd tests/unit && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  LSAN_OPTIONS=suppressions=$(abspath tests/lsan.supp) \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ../../build/asan/unit_tests

# The fuzz corpora replayed as a test: each target linked with a plain main (fuzz/replay.c)
# under AddressSanitizer and UndefinedBehaviorSanitizer, every corpus file once.
test-fuzz:
	$(MAKE) BUILD=build/asan OPTFLAGS="$(ASAN_FLAGS)" $(FUZZ_NAMES:%=build/asan/replay_%)
	bash fuzz/fuzz.sh replay build/asan $(FUZZ_NAMES)

.PRECIOUS: $(BUILD)/%.o
$(BUILD)/replay_%: $(BUILD)/fuzz/fuzz_%.o $(BUILD)/fuzz/replay.o $(BUILD)/libtarn.a
	$(CC) $(CFLAGS) $^ -o $@ $(LIBS)

# libFuzzer binaries (clang): build/fuzz/fuzz_NAME, the library built with coverage.
fuzz:
	$(MAKE) BUILD=build/fuzz CC=clang OPTFLAGS="$(ASAN_FLAGS) -fsanitize=fuzzer-no-link" \
	  $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)

$(BUILD)/fuzz_%: $(BUILD)/fuzz/fuzz_%.o $(BUILD)/libtarn.a
	$(CC) $(CFLAGS) -fsanitize=fuzzer $^ -o $@ $(LIBS)

# Fuzz each target for FUZZ_TIME seconds (make fuzz-run FUZZ_TARGETS=avro FUZZ_TIME=600).
fuzz-run: fuzz
	bash fuzz/fuzz.sh run $(FUZZ_TIME) $(FUZZ_TARGETS)

# The server under ThreadSanitizer (build/tsan/tarn) running the concurrency tests; DuckDB is
# not instrumented, tests/tsan.supp says what is suppressed and why.
test-tsan:
	$(MAKE) BUILD=build/tsan OPTFLAGS="$(TSAN_FLAGS)" build/tsan/tarn
	bash tests/tsan.sh

# cppcheck over src/: findings are fixed, or suppressed inline with the reason beside them.
# jansson.h is read first so that its iteration macros (json_array_foreach, ...) are known.
# Suppressed everywhere: missingIncludeSystem (system headers are not analysed) and
# varFuncNullUB (NULL ends variadic argument lists, e.g. catalog.c's bind values; gcc's and
# clang's stddef.h define NULL in C as ((void *)0), a pointer, not the int 0 the check is about).
lint:
	cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,portability,performance \
	  --inline-suppr --suppress=missingIncludeSystem --suppress=varFuncNullUB \
	  --include=/usr/include/jansson.h -D_GNU_SOURCE -Isrc src

test: all
	bash tests/run.sh

run: 
	bash scripts/install-deps.sh
	$(MAKE) all
	./$(BUILD)/tarn serve --warehouse ./warehouse

clean:
	rm -rf build

FORMAT_FILES = src/*/*.c src/*/*.h tests/unit/*.c tests/unit/*.h fuzz/*.c bench/*.c

format:
	clang-format -i $(FORMAT_FILES)

# What `make format` would change, as errors (nothing is rewritten).
format-check:
	clang-format --dry-run --Werror $(FORMAT_FILES)
