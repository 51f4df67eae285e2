# SPDX-License-Identifier: GPL-2.0
#
# micemu: the one entry point.
#
#   make run     build everything (installing Debian packages as needed) and
#                boot a host VM with one emulated x100 card
#   make test    the same set-up, then the whole test suite
#   make bench   the same set-up, then the benchmarks
#   make fuzz    QEMU and micfw, then a fuzzing campaign (fuzz/README.md):
#                FUZZ_SECONDS=N (default 60), FUZZ_JOBS=N (default 1),
#                FUZZ_ARGS='...' (more micfuzz options), FUZZ_REPLAY=FILE
#                (replay a saved failure; FUZZ_MINIMISE=1 also minimises
#                it), SANITIZE=1 (ASan+UBSan builds under $(BUILD)/sanitize)
#   make soak    cycles of the card life on 4 cards, debug kernel
#   make faultsweep  fault injection sweeps over the host modules' paths,
#                debug kernel (FAULTSWEEP_ARGS='...': tests/faultsweep.py)
#   make golden-update  rewrite the register-level golden traces (tests/golden/)
#   make clean   remove build products (keeps downloaded sources and ccache)
#
# HOST_STACK=upstream runs the host VM with the "upstream" personality:
# Debian bullseye's 5.10 kernel and upstream's MIC host stack (Linux 5.9.2,
# built unmodified from UPSTREAM_MIC_SRC), e.g. `make run HOST_STACK=upstream`.
# `make images` builds both host images when that tree is there.
#
# FLAVOUR=debug builds and uses the debug guest kernel (KASAN, lockdep,
# kmemleak: guest-kernel/debug.config) with its own modules and images,
# e.g. `make FLAVOUR=debug test`.
#
# KERNEL=6.12 builds and uses Debian's linux-source-6.12 (bookworm-security)
# instead of linux-source-6.1 for the host VM and the card VMs (one kernel
# serves both), with its own kernel, module and image directories in
# $(BUILD); `make test-matrix` runs the suite on each kernel in turn.
#
# Everything built or downloaded goes to $(BUILD), outside the source tree,
# so a second make is incremental and a fresh clone reuses a warm cache.

BUILD   ?= $(HOME)/.cache/micemu
export MICEMU_BUILD := $(BUILD)
TOP     := $(CURDIR)
PYTHON  := /usr/bin/python3
JOBS    ?= $(shell nproc)

FLAVOUR ?= default
ifeq ($(filter default debug,$(FLAVOUR)),)
$(error FLAVOUR must be default or debug, not '$(FLAVOUR)')
endif
export MICEMU_FLAVOUR := $(FLAVOUR)
SUFFIX  := $(if $(filter debug,$(FLAVOUR)),-debug)
KFRAGS  := guest-kernel/micemu.config $(if $(SUFFIX),guest-kernel/debug.config)

# The guest kernel version. 6.1 keeps the paths it always had; any other
# version gets its own source, kernel, module and image directories
# (KTAG), so the two live side by side in one cache.
KERNELS := 6.1 6.12
KERNEL  ?= 6.1
ifeq ($(filter $(KERNELS),$(KERNEL)),)
$(error KERNEL must be one of $(KERNELS), not '$(KERNEL)')
endif
export MICEMU_KERNEL_VERSION := $(KERNEL)
KTAG    := $(if $(filter-out 6.1,$(KERNEL)),-$(KERNEL))

STAMPS  := $(BUILD)/stamps
KSRC    := $(BUILD)/linux-source-$(KERNEL)
KBUILD  := $(BUILD)/kernel$(KTAG)-$(FLAVOUR)
BZIMAGE := $(KBUILD)/arch/x86/boot/bzImage
QSRC    := $(BUILD)/qemu-src
QBUILD  := $(BUILD)/qemu-build
QEMU    := $(QBUILD)/qemu-system-x86_64
MICFW   := $(BUILD)/card-firmware-sim/micfw
TOOLS   := $(BUILD)/tools
MODDIR  := $(BUILD)/modules$(KTAG)$(SUFFIX)
IMAGES  := $(BUILD)/images$(KTAG)$(SUFFIX)
HOST_INITRD := $(IMAGES)/host-initramfs.img
CARD_INITRD := $(IMAGES)/card-initramfs.img

QEMU_CONFIGURE := --target-list=x86_64-softmmu --without-default-features \
	--enable-kvm --enable-tcg --enable-fdt=system --enable-pixman \
	--disable-docs --disable-werror --disable-install-blobs \
	--python=/usr/bin/python3 --cc="ccache cc" --cxx="ccache c++"

# Debian's tarball has no firmware blobs: SeaBIOS, the option ROMs and
# QEMU's own small blobs come from Debian's packages (seabios, ipxe-qemu,
# qemu-system-data).  After every build they are linked into the data
# directory a QEMU run from its build tree searches (qemu-bundle/PREFIX/
# share/qemu), the first directory winning as with -L: this list is the one
# place that names them, no VM needs -L.
QEMU_FIRMWARE := /usr/share/seabios /usr/lib/ipxe/qemu /usr/share/qemu
define link-qemu-firmware
	@d=$(1)/qemu-bundle/usr/local/share/qemu; mkdir -p $$d; \
	for dir in $(QEMU_FIRMWARE); do for f in $$dir/*; do \
		[ -d "$$f" ] || [ -e "$$d/$${f##*/}" ] || ln -s "$$f" "$$d/"; \
	done; done
endef

export CCACHE_DIR ?= $(BUILD)/ccache
# Hash paths relative to $(BUILD), so a copied or moved cache still hits.
export CCACHE_BASEDIR ?= $(BUILD)
export CCACHE_NOHASHDIR ?= 1

.PHONY: all deps qemu kernel modules tools micfw images run test bench \
	upstream-kernel upstream-modules mpssd checkpatch unit-test check soak faultsweep clean \
	test-matrix distclean fuzz qemu-sanitize micfw-sanitize golden-update FORCE

all: images

# --- Debian packages --------------------------------------------------------
# Re-checked on every make; quick when everything is installed.
deps:
	@MICEMU_KERNELS=$(KERNEL) $(TOP)/scripts/install-deps.sh

# --- inputs keyed by content -------------------------------------------------
# A fresh clone gives every file a new mtime; these copies change only when
# the content does, so a clean clone on a warm cache rebuilds nothing.
INPUTS := $(BUILD)/inputs
$(INPUTS)/qemu-configure: FORCE
	@mkdir -p $(@D)
	@echo '$(QEMU_CONFIGURE)' | cmp -s - $@ || echo '$(QEMU_CONFIGURE)' >$@
# meson's build directory holds absolute paths: a cache copied or moved to
# another $(BUILD) must configure QEMU again, not build the old tree's files.
$(INPUTS)/qemu-dirs: FORCE
	@mkdir -p $(@D)
	@echo '$(QSRC) $(QBUILD)' | cmp -s - $@ || echo '$(QSRC) $(QBUILD)' >$@
$(INPUTS)/kernel$(KTAG)-$(FLAVOUR).config: FORCE
	@mkdir -p $(@D)
	@cat $(KFRAGS) | cmp -s - $@ || cat $(KFRAGS) >$@

# --- QEMU with the mic devices ----------------------------------------------
$(STAMPS)/qemu-src: | deps
	@mkdir -p $(STAMPS)
	$(TOP)/scripts/fetch-qemu-source.sh $(QSRC)
	rm -f $(STAMPS)/qemu-configured
	touch $@

$(STAMPS)/qemu-configured: $(STAMPS)/qemu-src $(INPUTS)/qemu-configure \
		$(INPUTS)/qemu-dirs
	$(TOP)/qemu-mic-device/install-into-qemu.sh $(QSRC)
	rm -rf $(QBUILD) && mkdir -p $(QBUILD)
	cd $(QBUILD) && $(QSRC)/configure $(QEMU_CONFIGURE)
	touch $@

qemu: $(STAMPS)/qemu-configured
	$(TOP)/qemu-mic-device/install-into-qemu.sh $(QSRC)
	ninja -C $(QBUILD) qemu-system-x86_64
	$(call link-qemu-firmware,$(QBUILD))

# --- guest kernel -------------------------------------------------------------
$(STAMPS)/kernel-src$(KTAG): | deps
	@mkdir -p $(STAMPS)
	rm -rf $(KSRC)
	tar -xJf /usr/src/linux-source-$(KERNEL).tar.xz -C $(BUILD)
	touch $@

$(KBUILD)/.config: $(INPUTS)/kernel$(KTAG)-$(FLAVOUR).config $(STAMPS)/kernel-src$(KTAG)
	mkdir -p $(KBUILD)
	$(MAKE) -C $(KSRC) O=$(KBUILD) tinyconfig >/dev/null
	$(KSRC)/scripts/kconfig/merge_config.sh -m -O $(KBUILD) \
		$(KBUILD)/.config $(KFRAGS) >/dev/null
	$(MAKE) -C $(KSRC) O=$(KBUILD) olddefconfig >/dev/null
	for f in $(KFRAGS); do \
		$(TOP)/guest-kernel/check-config.sh $(KBUILD)/.config $(TOP)/$$f || exit 1; \
	done

$(BZIMAGE): $(KBUILD)/.config
	$(MAKE) -C $(KSRC) O=$(KBUILD) CC="ccache gcc" -j$(JOBS) bzImage modules
	touch $@

kernel: $(BZIMAGE)

# --- our modules and programs ----------------------------------------------
# All module trees build in one kbuild pass (./Kbuild), so there is one
# Module.symvers. The sources are mirrored into the build directory:
# kbuild writes its objects next to them, and those stay out of the work
# tree.
MODULE_TREES := shared-module host-module card-module

modules: $(BZIMAGE)
	mkdir -p $(MODDIR)
	cp -a --update $(TOP)/Kbuild $(addprefix $(TOP)/,$(MODULE_TREES)) $(MODDIR)/
	$(MAKE) -C $(KBUILD) M=$(MODDIR) W=1 modules

tools: deps
	$(MAKE) -C $(TOP)/tools OUT=$(TOOLS)

micfw: deps
	$(MAKE) -C $(TOP)/card-firmware-sim OUT=$(BUILD)/card-firmware-sim

# --- the upstream host personality -------------------------------------------
# Debian bullseye's 5.10 kernel, fetched with a private apt configuration
# (scripts/fetch-upstream-host.sh), and upstream's MIC host modules built
# unmodified against its headers.  The upstream tree is copied into the
# build cache first: kbuild writes its objects next to the sources, and
# the tree (../shared, or the user's own) must stay untouched.
HOST_STACK ?= micemu
ifeq ($(filter micemu upstream,$(HOST_STACK)),)
$(error HOST_STACK must be micemu or upstream, not '$(HOST_STACK)')
endif
UPSTREAM_MIC_SRC ?= $(abspath $(TOP)/../shared/upstream/linux-5.9.2-mic)
export UPSTREAM_MIC_SRC
UPSTREAM_PRESENT := $(wildcard $(UPSTREAM_MIC_SRC)/drivers/misc/mic/host/mic_main.c)
UPSTREAM_ABI ?= 46
UPHOST  := $(BUILD)/upstream-host
UPSRC   := $(UPHOST)/mic-src
UPSTREAM_CONFIG := CONFIG_INTEL_MIC_BUS=m CONFIG_SCIF_BUS=m \
	CONFIG_VOP_BUS=m CONFIG_INTEL_MIC_HOST=m CONFIG_SCIF=m CONFIG_MIC_COSM=m \
	CONFIG_VOP=m CONFIG_INTEL_MIC_X100_DMA=m
# Debian's modules the host VM needs (virtio console for the agent; vop's
# dependencies; tun for mpssd's network) and upstream's, in load order.
UPSTREAM_HOST_MODULES = virtio virtio_ring virtio_pci virtio_console vhost_iotlb \
	vringh tun mic_bus scif_bus cosm_bus vop_bus scif mic_cosm vop mic_x100_dma mic_host

# The kernel ELF unpacked from the bzImage: run-vm.sh boots it through its
# PVH entry, skipping the bzImage's xz decompressor (~10 s under TCG).
upstream-kernel: deps
	$(TOP)/scripts/fetch-upstream-host.sh $(UPHOST) $(UPSTREAM_ABI)
	rel=$$(cat $(UPHOST)/kernel-release) && \
	$(PYTHON) $(TOP)/upstream-host/extract-vmlinux.py \
		$(UPHOST)/root/boot/vmlinuz-$$rel $(UPHOST)/vmlinux-$$rel

upstream-modules: upstream-kernel
	@test -n "$(UPSTREAM_PRESENT)" || { echo "make: no upstream MIC tree at" \
		"$(UPSTREAM_MIC_SRC) (set UPSTREAM_MIC_SRC=/path/to/linux-5.9)"; exit 1; }
	@if [ "$$(cat $(UPSRC)/.micemu-source 2>/dev/null)" != "$(UPSTREAM_MIC_SRC)" ]; then \
		rm -rf $(UPSRC); mkdir -p $(UPSRC); \
		echo "$(UPSTREAM_MIC_SRC)" >$(UPSRC)/.micemu-source; fi
	cp -a --update $(UPSTREAM_MIC_SRC)/. $(UPSRC)/
	cmp -s $(TOP)/upstream-host/mic.kbuild $(UPSRC)/Kbuild || \
		cp $(TOP)/upstream-host/mic.kbuild $(UPSRC)/Kbuild
	rel=$$(cat $(UPHOST)/kernel-release) && \
	$(MAKE) -C $(UPHOST)/root/usr/src/linux-headers-$$rel M=$(UPSRC) CC=gcc \
		$(UPSTREAM_CONFIG) KCFLAGS="-include linux/dma-map-ops.h" modules

# --- upstream's mpssd -------------------------------------------------------------
# samples/mic/mpssd from the upstream tree, unmodified, linked statically
# with this machine's libc so that both host images (5.10 and 6.1) can run
# it. Compiled straight from the tree into $(BUILD)/mpssd/;
# upstream-host/mpssd-include/ stands in for the kernel tree's
# tools/include, which upstream's sample expects next to it.
MPSSD_SRC := $(UPSTREAM_MIC_SRC)/samples/mic/mpssd
MPSSD := $(BUILD)/mpssd/mpssd
$(MPSSD): $(MPSSD_SRC)/mpssd.c $(MPSSD_SRC)/sysfs.c $(MPSSD_SRC)/mpssd.h \
		$(TOP)/upstream-host/mpssd-include/tools/endian.h | deps
	mkdir -p $(@D)
	gcc -O2 -static -I$(UPSTREAM_MIC_SRC)/include/uapi \
		-I$(TOP)/upstream-host/mpssd-include \
		$(MPSSD_SRC)/mpssd.c $(MPSSD_SRC)/sysfs.c -o $@.tmp -lpthread
	mv $@.tmp $@
mpssd: $(MPSSD)

# --- initramfs images ---------------------------------------------------------
# Load order inside the VMs; the images also carry the test-only modules
# (EXTRA_*), which tests load themselves.
HOST_MODULES = scif mic_cosm mic_x100_dma mic_vop_host mic_x100
HOST_EXTRA_MODULES = cosm_fakeclient mic_dma_test scif_test
CARD_MODULES = scif mic_x100_dma mic_card mic_cosm_client mic_card_vop
CARD_EXTRA_MODULES = mic_cosm_badclient mic_dma_test scif_test mic_vop_badcard

images: qemu kernel modules tools micfw $(if $(UPSTREAM_PRESENT),upstream-modules mpssd)
	IMAGES=$(IMAGES) KBUILD=$(KBUILD) MODDIR=$(MODDIR) TOOLS=$(TOOLS) \
	MPSSD=$(if $(UPSTREAM_PRESENT),$(MPSSD)) \
	HOST_MODULES="$(HOST_MODULES)" CARD_MODULES="$(CARD_MODULES)" \
	HOST_EXTRA_MODULES="$(HOST_EXTRA_MODULES)" \
	CARD_EXTRA_MODULES="$(CARD_EXTRA_MODULES)" \
	$(TOP)/images/build-images.sh
ifneq ($(UPSTREAM_PRESENT),)
	rel=$$(cat $(UPHOST)/kernel-release) && \
	HOST_STACK=upstream IMAGES=$(IMAGES) KBUILD=$(KBUILD) MODDIR=$(MODDIR) \
	TOOLS=$(TOOLS) HOST_MODULES="$(UPSTREAM_HOST_MODULES)" MPSSD=$(MPSSD) \
	HOST_MODDIRS="$(UPSRC) $(UPHOST)/root/lib/modules/$$rel/kernel" \
	$(TOP)/images/build-images.sh
else
	@echo "make: no upstream MIC tree at $(UPSTREAM_MIC_SRC): the upstream host" \
		"image is not built (set UPSTREAM_MIC_SRC=/path/to/linux-5.9 to build it)"
endif

# --- use it ---------------------------------------------------------------------
run: images
	$(TOP)/scripts/run-vm.sh --cards 1 --host-stack $(HOST_STACK)

checkpatch: deps $(STAMPS)/kernel-src$(KTAG)
	$(TOP)/scripts/checkpatch-modules.sh $(KSRC)/scripts/checkpatch.pl $(MODULE_TREES)

# The C unit tests; micfw's and the device models' Python suites run under
# pytest with the scenarios (pytest.ini).
unit-test: checkpatch
	$(MAKE) -C $(TOP)/qemu-mic-device/tests check OUT=$(BUILD)/unit-tests
	$(MAKE) -C $(TOP)/tools check OUT=$(TOOLS)

# JOBS test files at a time, one pytest-xdist worker each (a file's shared
# systems stay in one process); by default one more than the cores: the
# scenarios spend much of their time waiting on guest timers, so two
# workers on two cores halved the suite and a third took it under 15 min
# (README, "Measured"). JOBS=N sets it; JOBS=1 runs them one after the
# other.
TEST_JOBS := $(if $(filter command line environment,$(origin JOBS)),$(JOBS),$(shell echo $$(($$(nproc) + 1))))
test: images unit-test
	cd $(TOP) && MICEMU_NO_SKIP=1 $(PYTHON) -m pytest $(PYTEST_ARGS) \
		$(if $(filter-out 1,$(TEST_JOBS)),-n $(TEST_JOBS) --dist loadfile) \
		$(if $(SHARD),--shard=$(SHARD)) \
		--junitxml=$(TOP)/logs/junit$(KTAG)$(SUFFIX).xml

# The whole suite once per guest kernel (KERNELS), one after the other;
# each kernel's per-test logs go to logs/tests$(KTAG)/. Fails if any
# kernel's run failed, after running them all.
test-matrix:
	@fail=; for k in $(KERNELS); do \
		echo "make test-matrix: KERNEL=$$k"; \
		$(MAKE) KERNEL=$$k test || fail="$$fail $$k"; \
	done; \
	if [ -n "$$fail" ]; then echo "make test-matrix: failed on$$fail" >&2; exit 1; fi

bench: images
	cd $(TOP) && $(PYTHON) tests/bench.py

# Rewrite the register-level golden traces (tests/golden/) from fresh runs,
# on purpose, after a driver change that is meant to change them.
golden-update: images
	cd $(TOP) && MICEMU_GOLDEN_UPDATE=1 $(PYTHON) -m pytest tests/test_golden.py \
		-k 'not reordered' $(PYTEST_ARGS)

# --- fuzzing (fuzz/README.md) -----------------------------------------------
# The sanitizer flavour: QEMU and micfw with ASan + UBSan in their own
# directories, so the normal builds stay as they are.
SANDIR   := $(BUILD)/sanitize
SAN_QBUILD := $(SANDIR)/qemu-build
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer

$(STAMPS)/qemu-sanitize-configured: $(STAMPS)/qemu-src \
		$(INPUTS)/qemu-configure $(INPUTS)/qemu-dirs
	$(TOP)/qemu-mic-device/install-into-qemu.sh $(QSRC)
	rm -rf $(SAN_QBUILD) && mkdir -p $(SAN_QBUILD)
	cd $(SAN_QBUILD) && $(QSRC)/configure $(QEMU_CONFIGURE) \
		--enable-asan --enable-ubsan
	touch $@

qemu-sanitize: $(STAMPS)/qemu-sanitize-configured
	$(TOP)/qemu-mic-device/install-into-qemu.sh $(QSRC)
	ninja -C $(SAN_QBUILD) qemu-system-x86_64
	$(call link-qemu-firmware,$(SAN_QBUILD))

micfw-sanitize: deps
	$(MAKE) -C $(TOP)/card-firmware-sim OUT=$(SANDIR)/card-firmware-sim \
		CFLAGS="-O1 -g $(SAN_FLAGS)" LDFLAGS="$(SAN_FLAGS)"

FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= 1
FUZZ_ARGS ?=
ifeq ($(SANITIZE),1)
FUZZ_DEPS := qemu-sanitize micfw-sanitize
FUZZ_ENV := MICEMU_QEMU=$(SAN_QBUILD)/qemu-system-x86_64 \
	MICFW=$(SANDIR)/card-firmware-sim/micfw \
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:quarantine_size_mb=32 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
FUZZ_ARGS += --rss-slack-mb 96 --micfw-rss-slack-mb 64
else
FUZZ_DEPS := qemu micfw
FUZZ_ENV := MICEMU_QEMU=$(QEMU) MICFW=$(MICFW)
endif

fuzz: $(FUZZ_DEPS)
	cd $(TOP) && $(FUZZ_ENV) PYTHONPATH=$(TOP)/tests nice -n 10 \
		$(PYTHON) fuzz/micfuzz.py \
		$(if $(FUZZ_REPLAY),--replay $(FUZZ_REPLAY) \
			$(if $(FUZZ_MINIMISE),--minimise), \
			--seconds $(FUZZ_SECONDS) --jobs $(FUZZ_JOBS)) $(FUZZ_ARGS)

# Cycles of boot, online and crash/hang/reset/shutdown/reboot on several
# cards, on the debug kernel unless SOAK_FLAVOUR says otherwise.
SOAK_CYCLES  ?= 100
SOAK_CARDS   ?= 4
SOAK_FLAVOUR ?= debug
soak:
	$(MAKE) FLAVOUR=$(SOAK_FLAVOUR) images
	cd $(TOP) && MICEMU_FLAVOUR=$(SOAK_FLAVOUR) $(PYTHON) tests/soak.py \
		--cycles $(SOAK_CYCLES) --cards $(SOAK_CARDS)

# Fault sweeps (failslab, fail_page_alloc, fail_function) in the host
# kernel over the probe, boot, reset, SCIF connect and RMA register paths,
# on the debug kernel; FAULTSWEEP_ARGS='--paths boot --kinds slab' narrows.
FAULTSWEEP_ARGS ?=
faultsweep:
	$(MAKE) FLAVOUR=debug images
	cd $(TOP) && MICEMU_FLAVOUR=debug $(PYTHON) tests/faultsweep.py $(FAULTSWEEP_ARGS)

clean:
	rm -rf $(QBUILD) $(KBUILD) $(MODDIR) $(TOOLS) $(IMAGES) $(UPSRC) \
		$(BUILD)/card-firmware-sim $(BUILD)/unit-tests $(STAMPS)/qemu-configured \
		$(BUILD)/accel-probe-*

distclean:
	rm -rf $(BUILD)
FORCE:
