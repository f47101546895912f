#!/usr/bin/env bash
# examples/fashion_mnist end to end on a tiny synthetic IDX data set (so it runs where Debian's
# dataset-fashion-mnist is not installed): the live progress bar on a terminal (through
# `script`), one line per epoch otherwise, the table, the save / reload / re-test, the CNN, and a
# clear error for a missing data directory.
#
# Usage: fashion_mnist_test.sh PATH/TO/fashion_mnist
set -euo pipefail
example=$1
dir=$(mktemp -d "${TMPDIR:-/tmp}/kiln_fmnist_test.XXXXXX")
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAILED: $*" >&2; exit 1; }

# IDX files: big-endian magic (0x0803 images, 0x0801 labels) and dims; pixels random, labels
# 0..9 in turn. 320 training images (5 batches of 64), 100 test images; the train set gzipped.
idx_images() {  # N FILE
    printf '\x00\x00\x08\x03' >"$2"
    printf "\\x$(printf %02x $(($1 >> 24 & 255)))\\x$(printf %02x $(($1 >> 16 & 255)))" >>"$2"
    printf "\\x$(printf %02x $(($1 >> 8 & 255)))\\x$(printf %02x $(($1 & 255)))" >>"$2"
    printf '\x00\x00\x00\x1c\x00\x00\x00\x1c' >>"$2"
    head -c $(($1 * 784)) /dev/urandom >>"$2"
}
idx_labels() {  # N FILE
    printf '\x00\x00\x08\x01' >"$2"
    printf "\\x$(printf %02x $(($1 >> 24 & 255)))\\x$(printf %02x $(($1 >> 16 & 255)))" >>"$2"
    printf "\\x$(printf %02x $(($1 >> 8 & 255)))\\x$(printf %02x $(($1 & 255)))" >>"$2"
    for ((i = 0; i < $1; i++)); do printf "\\x0$((i % 10))"; done >>"$2"
}
idx_images 320 "$dir/train-images-idx3-ubyte"
idx_labels 320 "$dir/train-labels-idx1-ubyte"
idx_images 100 "$dir/t10k-images-idx3-ubyte"
idx_labels 100 "$dir/t10k-labels-idx1-ubyte"
gzip "$dir/train-images-idx3-ubyte" "$dir/train-labels-idx1-ubyte"

run=("$example" --data "$dir" --epochs 2 --batch-size 64 --save "$dir/mlp.safetensors")

# Not a terminal: one line per epoch, no carriage returns.
out=$("${run[@]}" | cat)
grep -q "^Fashion-MNIST from $dir: 320 training and 100 test images" <<<"$out" || fail "header: $out"
grep -Eq '^epoch 1/2: train loss [0-9.]+, test accuracy [0-9.]+, [0-9.]+ s, [0-9]+ samples/s$' \
    <<<"$out" || fail "epoch line: $out"
grep -q $'\r' <<<"$out" && fail "a carriage return without a terminal"
grep -q '^| 2 | ' <<<"$out" || fail "table row for epoch 2: $out"
grep -q "^saved to $dir/mlp.safetensors; reloaded into a fresh model: test accuracy [0-9.]* (the same)$" \
    <<<"$out" || fail "save / reload: $out"
[[ -s "$dir/mlp.safetensors" ]] || fail "no model file"

# A terminal: the bar is redrawn in place and ends full, with the rate, the loss and an ETA.
tty_out=$(script -qec "$(printf '%q ' "${run[@]}")" /dev/null)
grep -q $'\repoch 1/2 \[##############################\] 5/5 ' <<<"$tty_out" ||
    fail "full progress bar: $tty_out"
grep -Eq 'samples/s  loss [0-9.]+  ETA [0-9]+s' <<<"$tty_out" || fail "bar fields: $tty_out"

# The CNN, one epoch.
cnn=$("$example" --data "$dir" --model cnn --epochs 1 --batch-size 64 --save "$dir/cnn.safetensors")
grep -q "Conv2d(1, 16, kernel_size=\[3, 3\]" <<<"$cnn" || fail "CNN model: $cnn"
grep -q "(the same)$" <<<"$cnn" || fail "CNN save / reload: $cnn"

# A missing directory is an error that names it, with a non-zero status.
if err=$("$example" --data "$dir/missing" 2>&1); then fail "a missing directory succeeded"; fi
grep -q "$dir/missing" <<<"$err" || fail "the error does not name the directory: $err"

# --device cuda: without a usable GPU it says why and fails before reading any data; with one
# it trains there (the same save / reload check).
if err=$("$example" --data "$dir/missing" --device cuda 2>&1); then
    fail "--device cuda with a missing directory succeeded"
fi
if grep -q "^fashion_mnist: --device cuda, but " <<<"$err"; then
    grep -Eq "but (no CUDA|the CUDA driver)" <<<"$err" || fail "--device cuda: unclear reason: $err"
else
    grep -q "$dir/missing" <<<"$err" || fail "--device cuda: unexpected error: $err"
    gpu=$("$example" --data "$dir" --epochs 1 --device cuda --save "$dir/gpu.safetensors")
    grep -q "on cuda:0" <<<"$gpu" || fail "--device cuda did not train on the GPU: $gpu"
    grep -q "(the same)$" <<<"$gpu" || fail "GPU save / reload: $gpu"
fi

echo "fashion_mnist example: 1 passed, 0 failed"
