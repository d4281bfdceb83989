# Sourced first by the shell scripts here: with -h, --help or no argument, the calling script's header (the
# comment lines above its `set`) is its help, printed before any work.
case "${1:-}" in
    -h | --help) sed -n '2,/^set /{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
    "") sed -n '2,/^set /{/^#/s/^# \{0,1\}//p}' "$0" >&2; exit 2 ;;
esac
