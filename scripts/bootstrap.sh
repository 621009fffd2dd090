# Sourced by scripts/run and scripts/test: finds Python 3.12+, builds .venv with uv when the
# requirements change, and leaves VENV_PYTHON pointing at the project's interpreter.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
unset PYTHONDONTWRITEBYTECODE

python_ok() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; }

find_python() {
    local candidate
    # pyenv's shims honour .python-version (3.13) in this folder.
    for candidate in python python3.13 python3.12 python3; do
        if command -v "$candidate" >/dev/null 2>&1 && python_ok "$candidate"; then
            command -v "$candidate"
            return
        fi
    done
}

find_uv() {
    if command -v uv >/dev/null 2>&1; then command -v uv; return; fi
    if [ ! -x .cache/uv/bin/uv ]; then
        local any_python
        any_python=$(command -v python3 || command -v python || true)
        if [ -n "$any_python" ] && "$any_python" -m pip --version >/dev/null 2>&1; then
            "$any_python" -m pip install --quiet --disable-pip-version-check --target .cache/uv uv >/dev/null 2>&1 || true
        fi
    fi
    if [ -x .cache/uv/bin/uv ]; then echo "$PWD/.cache/uv/bin/uv"; fi
}

UV=$(find_uv)
PYTHON=$(find_python || true)
if [ -z "$PYTHON" ] && [ -n "$UV" ]; then
    echo "No Python 3.12+ found; asking uv for Python 3.13..." >&2
    "$UV" python install 3.13 >&2 && PYTHON=$("$UV" python find 3.13) || PYTHON=""
fi
if [ -z "$PYTHON" ]; then
    echo "Viewport needs Python 3.12 or newer (Django 6.1). Install python3.13 (or uv: https://docs.astral.sh/uv/) and try again." >&2
    exit 1
fi

# scripts/run needs requirements.txt; scripts/test sets REQUIREMENTS=requirements-dev.txt (the
# same plus test tools). A venv built for the tests serves the site too, so the two never rebuild
# each other's.
REQUIREMENTS="${REQUIREMENTS:-requirements.txt}"
stamp_of() { { cat "$@"; "$PYTHON" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1; }
site_stamp=$(stamp_of requirements.txt)
dev_stamp=$(stamp_of requirements.txt requirements-dev.txt)
current_stamp=$(cat .venv/.requirements-stamp 2>/dev/null || true)
if [ "$REQUIREMENTS" = requirements-dev.txt ]; then wanted=("$dev_stamp"); else wanted=("$site_stamp" "$dev_stamp"); fi
if [ ! -x .venv/bin/python ] || [[ ! " ${wanted[*]} " == *" $current_stamp "* ]]; then
    echo "Installing Python packages into .venv ..." >&2
    rm -rf .venv
    if [ -n "$UV" ]; then
        "$UV" venv --quiet --python "$PYTHON" .venv
        VIRTUAL_ENV="$PWD/.venv" "$UV" pip install --quiet -r "$REQUIREMENTS"
    else
        "$PYTHON" -m venv .venv
        .venv/bin/python -m pip install --quiet -r "$REQUIREMENTS"
    fi
    echo "${wanted[0]}" > .venv/.requirements-stamp
fi
VENV_PYTHON="$PWD/.venv/bin/python"

# Installs Debian packages when a command is missing: as root, or through sudo.
apt_install() {
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
            echo "Please install these Debian packages: $*" >&2; exit 1
        fi
    fi
    echo "Installing $* ..." >&2
    $sudo apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
