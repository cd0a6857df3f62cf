#!/usr/bin/env bash
# The one prepared GPU run (issue 17 part 4), on the lent machine (no network, no Node, no browser): unpacks
# what bench/gpu/prepare.sh put under .gpu-carry/ (the Vulkan loader debs, Node, the benchmark bundle and
# Dawn), then times `tiny` and `base` at 720p, 1080p and 4K on Dawn's WebGPU (4K in the tiles `predict`
# takes from the device's limits by default, and in 512-pixel tiles; untiled 4K is past every WebGPU
# device's dispatch limit), each run under a time limit. Writes to $OUT: the JSON of each run, log.txt and
# gpu.txt (nvidia-smi and the Vulkan driver seen).
#   GPUBENCH_MODE=full (default) | dry: dry = 64x64 only, 1 warm-up, 1 timed frame; the webgpu run may
#     fail where Dawn finds no adapter (reported, not fatal), then the same on tfjs's cpu backend, so
#     every path up to the adapter request and the timing code both run without a GPU.
#   GPUBENCH_CARRY (default .gpu-carry), GPUBENCH_LIMIT_S (per run, default 200).
set -uo pipefail
cd "$(dirname "$0")/../.."
: "${OUT:?set OUT to the folder the results go to}"
CARRY=${GPUBENCH_CARRY:-.gpu-carry}
MODE=${GPUBENCH_MODE:-full}
LIMIT_S=${GPUBENCH_LIMIT_S:-200}
mkdir -p "$OUT"
say() { echo "== $*"; }

# xz, or Python's lzma where the machine has no xz.
unxz_to() {
  if command -v xz >/dev/null; then xz -dc "$1" >"$2"
  else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; fi
}

main() {
  for f in "$CARRY/node.xz" "$CARRY/dist/bench.mjs" "$CARRY/dist/dawn.node.xz"; do
    [ -s "$f" ] || { say "missing $f: run bench/gpu/prepare.sh first, and carry $CARRY"; return 2; }
  done
  say "mode $MODE, $(date -u +%FT%TZ), $(uname -m), $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"

  # The Vulkan loader (device README): unpacked into / only on the lent machine, never in a dry run.
  if ldconfig -p | grep -q 'libvulkan.so.1 '; then say "vulkan loader present"
  elif [ "$MODE" = dry ]; then say "no vulkan loader here (dry run: not installing)"
  else
    for f in "$CARRY"/gl/*.deb; do dpkg -x "$f" /; done; ldconfig
    say "vulkan loader unpacked: $(ldconfig -p | grep -c libvulkan) libvulkan entries"
  fi
  nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$nvidia_icd" ]; then
    export VK_DRIVER_FILES=$nvidia_icd __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  fi
  { command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv || echo "no nvidia-smi"
    echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset}"; } >"$OUT/gpu.txt" 2>&1
  cat "$OUT/gpu.txt"

  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
  unxz_to "$CARRY/node.xz" "$WORK/node" && chmod +x "$WORK/node"
  cp "$CARRY"/dist/*.mjs "$CARRY"/dist/*.wasm "$WORK/"
  unxz_to "$CARRY/dist/dawn.node.xz" "$WORK/dawn.node"
  say "node $("$WORK/node" --version) from $CARRY/node.xz ($(cat "$CARRY/node.version" 2>/dev/null))"

  status=0
  bench() { # label, then bench.mjs options
    local label=$1; shift
    say "run $label: $*"
    timeout "$LIMIT_S" "$WORK/node" "$WORK/bench.mjs" --out "$OUT" --label "$label" "$@"
    local rc=$?
    say "run $label: exit $rc$([ $rc = 124 ] && echo " (over ${LIMIT_S} s)")"
    return $rc
  }
  if [ "$MODE" = dry ]; then
    small=(--sizes 64x64 --warmup 1 --iterations 1)
    bench dry-webgpu "${small[@]}" || say "dry run: webgpu did not run here (expected where Dawn finds no adapter)"
    bench dry-cpu --backend cpu "${small[@]}" || status=1
  else
    bench webgpu --sizes 1280x720,1920x1080,3840x2160 --warmup 3 --iterations 20 || status=1
    # 4K in the 512-pixel tiles used before tiles came from the device's limits (40 tiles, not 6).
    bench webgpu-4k-tiles512 --tile-size 512 --sizes 3840x2160 --warmup 3 --iterations 20 || status=1
  fi
  say "done, exit $status; files in $OUT: $(ls "$OUT" | tr '\n' ' ')"
  return $status
}

# The log goes to $OUT/log.txt as well; a pipe, so that tee has written all of it when the script ends.
main 2>&1 | tee -a "$OUT/log.txt"
exit "${PIPESTATUS[0]}"
