#!/usr/bin/env bash
# Installs the Debian 12 packages fanout needs to build, test and benchmark,
# only those missing (nsd, nginx and nghttpd: the real servers of the tests,
# openssl to make their certificates; libnghttp2-dev: HTTP/2; dnsperf, wrk,
# h2load and python3-aiohttp: the benchmarks' anchors; clang-14,
# libfuzzer-14-dev and libclang-rt-14-dev: the fuzz preset; prometheus for
# promtool, which checks the metrics exposition; chromium, headless, opens the
# HTML reports in the browser test).
# Quiet when nothing is missing. Runs as root or via sudo.
set -euo pipefail

packages=(
    g++ cmake ninja-build pkg-config ccache
    libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
    libssl-dev libc-ares-dev libnghttp2-dev libfmt-dev libcli11-dev catch2
    python3
    nsd nginx nghttp2-server openssl dnsperf wrk nghttp2-client python3-aiohttp time
    clang-14 libfuzzer-14-dev libclang-rt-14-dev
    prometheus
    chromium
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root or sudo to install ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
