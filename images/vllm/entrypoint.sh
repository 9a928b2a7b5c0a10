#!/bin/sh
# Validate the mHC knobs with the patched vLLM's own parser before anything starts; one line on failure.
set -e
python -m rocm_images.image.knobs || exit $?
exec "$@"
