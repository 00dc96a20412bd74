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

.PHONY: all deps run test test-unit test-asan clean format
all: $(BUILD)/tarn

deps: $(DUCKDB_LIB)/libduckdb.so

$(DUCKDB_LIB)/libduckdb.so $(DUCKDB_INC)/duckdb.h: package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	touch $(DUCKDB_LIB)/libduckdb.so

$(BUILD)/%.o: %.c $(DUCKDB_INC)/duckdb.h $(wildcard src/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libtarn.a: $(filter-out $(BUILD)/src/cli/main.o,$(LIB_OBJ))
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

test: all
	bash tests/run.sh

run: 
	bash scripts/install-deps.sh
	$(MAKE) all
	./$(BUILD)/tarn serve --warehouse ./warehouse

clean:
	rm -rf build

format:
	clang-format -i src/*/*.c src/*/*.h tests/unit/*.c tests/unit/*.h
