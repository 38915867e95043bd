# Sourced by the other scripts: build environment shared by demo, test, bench and fuzz.
# ccache keyed on paths relative to the checkout, so a CI clone at a new path still hits.
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CCACHE_BASEDIR="$repo_root"
export CCACHE_NOHASHDIR=1
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
if command -v ccache >/dev/null 2>&1; then
    export CMAKE_CXX_COMPILER_LAUNCHER=ccache
fi
jobs=${TETHER_JOBS:-$(nproc)}

# step NAME COMMAND...: runs a step and prints how long it took.
step() {
    local name=$1; shift
    local start=$SECONDS
    echo "=== [$name] start $(date +%T)"
    if "$@"; then
        echo "=== [$name] ok in $((SECONDS - start)) s"
    else
        local rc=$?
        echo "=== [$name] FAILED (exit $rc) after $((SECONDS - start)) s"
        return $rc
    fi
}
