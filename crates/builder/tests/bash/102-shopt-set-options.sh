# Option listings and toggles: set -o, shopt, $-, SHELLOPTS, BASHOPTS, set -- and set -v.
echo "flags: $-"
set -o | grep -E '^(errexit|nounset|pipefail|noglob|noclobber|xtrace)\b'
echo "SHELLOPTS=$SHELLOPTS"
shopt -s nullglob extglob
echo "BASHOPTS has extglob: $([[ $BASHOPTS == *extglob* ]] && echo yes)"
shopt nullglob extglob dotglob
shopt -p globstar
shopt -q extglob && echo "shopt -q: extglob on"
shopt -u nullglob extglob
set -euf
echo "flags now: $-"
set +euf
set -o noclobber -o noglob
set -o | grep -E '^(noclobber|noglob)\b'
set +o noclobber +o noglob
set +o | grep -E 'noglob|errexit'
shopt -s nosuchopt
echo "bad shopt: $?"
set -o nosuchopt
echo "bad set -o: $?"
set -v
echo "verbose echoes the line to stderr"
set +v
echo "BASH_VERSINFO: ${BASH_VERSINFO[0]}.${BASH_VERSINFO[1]} ${BASH_VERSINFO[5]}"
echo "BASH=$BASH"
echo "MACHTYPE=$MACHTYPE OSTYPE=$OSTYPE HOSTTYPE=$HOSTTYPE"
# PPID is not compared: the vkernel runs the script as a container's first process
# (its parent is outside, 0), the native run as a child of the test.
echo "UID=$UID EUID=$EUID GROUPS=${GROUPS[*]} PPID is a number: $([[ $PPID =~ ^[0-9]+$ ]] && echo yes)"
