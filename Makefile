# Tern: top-level entry points. See README.md.
#   make deps      install missing Debian packages (apt-get; quiet when nothing is missing)
#   make           build (build/, RelWithDebInfo)
#   make run       deps + build + start ternd in the foreground, data under ./data
#   make test      deps + build + every unit, integration and fuzz-corpus test (ctest)
#   make asan      the same tests built with ASan+UBSan (build-asan/)
#   make bench     micro-benchmarks; make bench-e2e: durable-ack throughput/latency on loopback
#   make bench-weaknet  latency, reconnect cost and bytes per message through tern-weaknet (2g, 3g)
#   make bench-conns  RSS per idle plain/TLS connection; reconnect round trips and bytes per TLS mode
#   make bench-peers  Tern vs Mosquitto on tern-loadgen's workloads -> bench/RESULTS.md
#   make bench-bytes  app-layer bytes per delivered message: Tern (plain/zstd/dict) vs MQTT, XMPP
#   make install   binaries, /etc/tern/ternd.conf (commented defaults), ternd.service; PREFIX=
#   make package   the .deb (CPack); make package-test: build, install and start it once
#   make fuzz      libFuzzer targets with clang (build-fuzz/), FUZZ_SECONDS each
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
FUZZ_SECONDS ?= 60
LISTEN     ?= 127.0.0.1:7011
DATA       ?= data
CTEST_ARGS ?=

FUZZ_TARGETS := $(basename $(notdir $(wildcard fuzz/*_fuzz.cc)))

DEB_PACKAGES := build-essential cmake ninja-build pkg-config libuv1-dev libflatbuffers-dev \
  flatbuffers-compiler liblmdb-dev lmdb-utils libzstd-dev libssl-dev libgtest-dev libgmock-dev \
  libbenchmark-dev libcli11-dev clang \
  mosquitto libmosquitto-dev libpcap-dev tcpdump libhttp-parser-dev libncurses-dev python3-boto3 \
  dpkg-dev file libsodium-dev tmux

.PHONY: all deps build run test asan install package package-test bench bench-e2e bench-weaknet bench-conns bench-peers bench-bytes bench-fanout fuzz clean

all: build

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

run: deps build
	mkdir -p $(DATA)
	$(BUILD)/server/ternd --data $(DATA) --listen $(LISTEN)

test: deps build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

# Installs into PREFIX (default /usr/local; /etc/tern for the config only with PREFIX=/usr).
PREFIX ?= /usr/local
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

# The .deb (CPack): $(BUILD)/tern_<version>_<arch>.deb with ternd.service and /etc/tern/ternd.conf.
package: build
	cd $(BUILD) && cpack -G DEB

# Builds the .deb, installs it (dpkg -i as root, else dpkg-deb -x into a temp root) and starts
# the installed ternd once. Not part of ctest: as root it changes the machine (CI runs it).
package-test: build
	packaging/package_test.sh $(BUILD)

asan: deps
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTERN_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

bench: deps build
	@if [ -x $(BUILD)/bench/tern_micro_bench ]; then $(BUILD)/bench/tern_micro_bench; else echo "no micro-benchmarks built"; fi

bench-e2e: deps build
	$(BUILD)/bench/tern_e2e_sent_latency

# One JSON line per profile: p50/p99 latency vs path delay, reconnect to first message, bytes/msg.
bench-weaknet: deps build
	$(BUILD)/bench/tern_e2e_weaknet

# RSS per idle connection (plain and TLS, 10k each; CONNS= overrides) and reconnect cost per
# TLS mode (cold, ticket, 0-RTT) through a fixed-delay proxy.
CONNS ?= 10000
# Group fan-out through the real ternd: a 256-member group, two devices per member, all online
# and then all offline draining (one JSON line each; FANOUT_MESSAGES= messages per phase).
FANOUT_MESSAGES ?= 200
bench-fanout: deps build
	$(BUILD)/bench/tern_e2e_fanout --members 256 --devices 2 --messages $(FANOUT_MESSAGES)

bench-conns: deps build
	$(BUILD)/bench/tern_e2e_conns --connections $(CONNS)
	$(BUILD)/bench/tern_e2e_reconnect

# Tern vs Mosquitto, alternating A/B over PEER_ROUNDS rounds (< 10 minutes with the default 2):
# bench/RESULTS.md, bench/results.json, one JSON line per workload. See bench/peers.py.
PEER_ROUNDS ?= 2
bench-peers: deps build
	python3 bench/peers.py --loadgen $(BUILD)/tools/loadgen/tern-loadgen \
	  --mqtt $(BUILD)/bench/tern_mqtt_loadgen --ternd $(BUILD)/server/ternd --rounds $(PEER_ROUNDS)

# Bytes per delivered message through the real ternd vs MQTT 3.1.1 and XMPP: a table and one
# JSON line (BYTES_MESSAGES= lines of generated conversation).
BYTES_MESSAGES ?= 1000
bench-bytes: deps build
	$(BUILD)/bench/tern_e2e_bytes --messages $(BYTES_MESSAGES)

fuzz: deps
	cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
	  -DTERN_FUZZ=ON -DBUILD_TESTING=OFF
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(FUZZ_TARGETS)
	fuzz/run_all.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(JOBS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
