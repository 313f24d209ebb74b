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
RECOMPILER_APT_PACKAGES=(clang lld wasi-libc libclang-rt-dev-wasm32 umoci skopeo wabt binaryen
  zstd openssl busybox-static bash-static ca-certificates python3)

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

ensure_setup() {
  ensure_apt_packages
  ensure_rust
}
