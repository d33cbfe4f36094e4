# photo-edge nginx modules: build, test, run.
#
#   make run     install what is missing, build, fetch models, start the demo
#                on 127.0.0.1:8080 (foreground)
#   make test    install what is missing, build, run unit and integration
#                tests
#   make asan    the whole suite with the modules built under
#                AddressSanitizer + UndefinedBehaviorSanitizer
#
# Everything built goes to build/ (git-ignored).  configure runs from
# Debian's nginx-dev kit with the flags the Debian nginx package was built
# with, so the modules load into the stock /usr/sbin/nginx.

NGX_SRC     ?= /usr/share/nginx/src
NGINX       ?= /usr/sbin/nginx
BUILD       := build
MODULES     := album_zip image_variant face lambda edge_metrics s3
SO           = $(foreach m,$(MODULES),$(1)/ngx_http_$(m)_module.so)
SOURCES     := config $(shell find src -name '*.[ch]' 2>/dev/null)
JOBS        ?= $(shell nproc 2>/dev/null || echo 2)
PROVE_JOBS  ?= 2

CC          ?= cc
# "=": evaluated when used, after "make deps" has installed the compiler
UNIT_CFLAGS  = -std=gnu11 -g -O1 -Wall -Wextra -Werror -It/unit \
               -Isrc/album_zip/core -Isrc/image/core -Isrc/face/core \
               -Isrc/edge/core \
               $(shell pkg-config --cflags libcjson 2>/dev/null)

# the face engine (src/face/core, no nginx types) and its command-line
# tool; config lists the same files
FACE_SRCS   := $(addprefix src/face/core/,face.c face_align.c face_detect.c \
                 face_exif.c \
                 face_image.c face_json.c face_landmarks.c face_nms.c \
                 face_nn.c face_recognition.c face_ssd.c face_tiny.c \
                 face_weights.c)
FACE_DEPS   := src/tools/faceenc.c $(FACE_SRCS) \
               $(addprefix src/face/core/,face.h face_internal.h face_nn.h \
                 face_weights.h)
FACE_CFLAGS  = -std=gnu11 -Wall -Wextra -Werror -Isrc/face/core \
               $(shell pkg-config --cflags vips libcjson 2>/dev/null)
FACE_LIBS    = $(shell pkg-config --libs vips libcjson 2>/dev/null) \
               -ldnnl -lgomp -ljpeg -lwebpdemux -lwebp -lm

# moderation (nsfwjs's MobileNetV2 on the face engine's graph API) and its
# command-line tool; config lists the same files in the image module
MODERATE_SRCS := src/image/core/image_moderate.c \
                 src/image/core/image_moderate_decode.c \
                 src/face/core/face_image.c src/face/core/face_exif.c \
                 src/face/core/face_nn.c src/face/core/face_weights.c
MODERATE_DEPS := src/tools/moderate.c $(MODERATE_SRCS) \
                 src/image/core/image_moderate.h src/face/core/face_nn.h \
                 src/face/core/face_weights.h
MODERATE_CFLAGS = -std=gnu11 -Wall -Wextra -Werror -Isrc/image/core \
                 -Isrc/face/core \
                 $(shell pkg-config --cflags vips libcjson 2>/dev/null)

ASAN_FLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer \
               -fno-sanitize-recover=undefined
ASAN_RT      = $(shell $(CC) -print-file-name=libasan.so 2>/dev/null)
UBSAN_RT     = $(shell $(CC) -print-file-name=libubsan.so 2>/dev/null)

.PHONY: all deps build models unit sdk test asan run deb container-test fuzz \
        bench clean distclean

all: build

deps:
	@scripts/install-deps.sh deps.txt

models: deps
	@scripts/fetch-models.sh models demo/fixtures


# --- the modules ----------------------------------------------------------

# configure_cmd <builddir> <extra cc opt> <extra ld opt>
define configure_cmd
	@mkdir -p $(1)
	cd $(NGX_SRC) && bash -c '. ./conf_flags && ./configure \
	    --with-cc-opt="$$(dpkg-buildflags --get CFLAGS) -fPIC \
	                   $$(dpkg-buildflags --get CPPFLAGS) $(2)" \
	    --with-ld-opt="$$(dpkg-buildflags --get LDFLAGS) -fPIC $(3)" \
	    "$${NGX_CONF_FLAGS[@]}" \
	    --add-dynamic-module=$(CURDIR) \
	    --builddir=$(CURDIR)/$(1)' > $(CURDIR)/$(1)/configure.log 2>&1 \
	|| { tail -n 30 $(CURDIR)/$(1)/configure.log; exit 1; }
endef

$(BUILD)/nginx/Makefile: config deps.txt | deps
	$(call configure_cmd,$(BUILD)/nginx,,)

$(call SO,$(BUILD)/nginx) &: $(BUILD)/nginx/Makefile $(SOURCES)
	$(MAKE) -f $(CURDIR)/$(BUILD)/nginx/Makefile -C $(NGX_SRC) \
	    -j$(JOBS) modules

build: deps $(call SO,$(BUILD)/nginx) $(BUILD)/faceenc $(BUILD)/moderate

$(BUILD)/faceenc: $(FACE_DEPS) | deps
	@mkdir -p $(BUILD)
	$(CC) -O2 $(FACE_CFLAGS) -o $@ src/tools/faceenc.c $(FACE_SRCS) \
	    $(FACE_LIBS)

$(BUILD)/moderate: $(MODERATE_DEPS) | deps
	@mkdir -p $(BUILD)
	$(CC) -O2 $(MODERATE_CFLAGS) -o $@ src/tools/moderate.c \
	    $(MODERATE_SRCS) $(FACE_LIBS)

$(BUILD)/asan/moderate: $(MODERATE_DEPS) | deps
	@mkdir -p $(BUILD)/asan
	$(CC) -g -O1 $(ASAN_FLAGS) $(MODERATE_CFLAGS) -o $@ \
	    src/tools/moderate.c $(MODERATE_SRCS) $(FACE_LIBS)

$(BUILD)/asan/faceenc: $(FACE_DEPS) | deps
	@mkdir -p $(BUILD)/asan
	$(CC) -g -O1 $(ASAN_FLAGS) $(FACE_CFLAGS) -o $@ src/tools/faceenc.c \
	    $(FACE_SRCS) $(FACE_LIBS)

$(BUILD)/asan/Makefile: config deps.txt | deps
	$(call configure_cmd,$(BUILD)/asan,-O1 $(ASAN_FLAGS),$(ASAN_FLAGS))

$(call SO,$(BUILD)/asan) &: $(BUILD)/asan/Makefile $(SOURCES)
	$(MAKE) -f $(CURDIR)/$(BUILD)/asan/Makefile -C $(NGX_SRC) \
	    -j$(JOBS) modules


# --- unit tests: t/unit/test_<name>.c + the sources its .mk lists ----------

UNIT_TESTS :=
-include t/unit/*.mk

define unit_rule
$(BUILD)/unit/test_$(1): t/unit/test_$(1).c $$($(1)_SRCS) t/unit/unit.h \
                        $$(wildcard src/*/core/*.h)
	@mkdir -p $(BUILD)/unit
	$(CC) $(UNIT_CFLAGS) $$($(1)_CFLAGS) $(UNIT_EXTRA) -o $$@ \
	    t/unit/test_$(1).c $$($(1)_SRCS) $$($(1)_LIBS)
endef

$(foreach t,$(UNIT_TESTS),$(eval $(call unit_rule,$(t))))

UNIT_BINS := $(foreach t,$(UNIT_TESTS),$(BUILD)/unit/test_$(t))

unit: deps $(UNIT_BINS)
	@scripts/run-unit.sh $(UNIT_BINS)


# --- the two commands -----------------------------------------------------

# the Lambda tests' JavaScript client, pinned by its lockfile
sdk: t/sdk/node_modules/.package-lock.json

t/sdk/node_modules/.package-lock.json: t/sdk/package.json \
                                      t/sdk/package-lock.json | deps
	cd t/sdk && npm ci --no-audit --no-fund

test: build models unit sdk
	scripts/check-layout src
	scripts/check-ngx-formats src
	scripts/check-docs src docs
	scripts/with-ceph $(BUILD)/ceph prove -j$(PROVE_JOBS) -r t

asan: deps models sdk $(call SO,$(BUILD)/asan) $(BUILD)/asan/faceenc \
      $(BUILD)/asan/moderate
	scripts/check-layout src
	scripts/check-ngx-formats src
	scripts/check-docs src docs
	$(MAKE) unit BUILD=$(BUILD)/unit-asan \
	    UNIT_EXTRA="$(ASAN_FLAGS)"
	TEST_FACEENC=$(CURDIR)/$(BUILD)/asan/faceenc \
	TEST_MODERATE=$(CURDIR)/$(BUILD)/asan/moderate \
	TEST_NGINX_MODULES=$(CURDIR)/$(BUILD)/asan \
	TEST_NGINX_PRELOAD="$(ASAN_RT) $(UBSAN_RT)" \
	    scripts/with-ceph $(BUILD)/ceph-asan prove -j$(PROVE_JOBS) -r t

# As root, the workers would run as "nobody", who may not read a clone under
# /root; the demo keeps root's identity instead (it listens on loopback only).
RUN_USER := $(if $(filter 0,$(shell id -u)),user root;,)

run: build models
	@mkdir -p $(BUILD)/run
	@echo "demo on http://127.0.0.1:8080/ (Ctrl-C stops it)"
	exec $(NGINX) -p $(CURDIR)/ -c conf/nginx.conf -g 'daemon off; $(RUN_USER)'


# --- Debian packages (t/004 builds and installs them too) -----------------

deb: build models
	scripts/make-deb $(BUILD)/nginx models $(BUILD)/deb

# not part of "make test": podman, a base image made with debootstrap, two
# stages built from scratch (minutes)
container-test: models
	@scripts/install-deps.sh deps-container.txt
	scripts/container-test $(BUILD)/container


# --- not tests --------------------------------------------------------------

fuzz:
	$(MAKE) -C fuzz

bench: build models
	bench/run

clean:
	rm -rf $(BUILD)

distclean: clean
	rm -rf models demo/fixtures
