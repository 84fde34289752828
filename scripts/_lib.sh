# shellcheck shell=bash
# Sourced by the setup scripts (bootstrap, meltano_setup, airflow_setup, postgres_check, demo):
# the versions of the tools installed outside .venv, and `step`, which runs one setup step
# quietly and prints one line for it: what it does, then "done (N s)" or "FAILED (N s)"
# followed by the end of its output. The caller sets SCRIPT_NAME and works in the repository
# root (constraints.txt is read from there).

MELTANO_VERSION="${MELTANO_VERSION:-4.4.1}"
AIRFLOW_VERSION="${AIRFLOW_VERSION:-3.3.2}"
PYTHON="${PYTHON:-python3}"
# pip reads this for every install of the calling script, build environments included
# (setuptools for the editable install): the versions tested together, see constraints.txt.
export PIP_CONSTRAINT="$PWD/constraints.txt"
export PIP_DISABLE_PIP_VERSION_CHECK=1

require_python() {
  if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    echo "$SCRIPT_NAME: Python >= 3.10 is required (found $("$PYTHON" --version 2>&1)); set PYTHON=..." >&2
    exit 1
  fi
}

# step TITLE COMMAND [ARG...]: run COMMAND with its output kept in a log; one line of progress.
step() {
  local title=$1 started=$SECONDS log
  shift
  log="$(mktemp)"
  printf '%s: %s ... ' "$SCRIPT_NAME" "$title"
  if "$@" >"$log" 2>&1; then
    printf 'done (%d s)\n' $((SECONDS - started))
    rm -f "$log"
    return 0
  fi
  printf 'FAILED (%d s)\n' $((SECONDS - started))
  echo "$SCRIPT_NAME: '$*' failed; the end of its output:" >&2
  tail -n 40 "$log" >&2
  rm -f "$log"
  exit 1
}
