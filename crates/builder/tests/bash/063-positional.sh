# Positional parameters: set --, shift, $#, ${!#}, slices, $0, and in functions.
set -- alpha beta gamma delta epsilon
echo "count=$# first=$1 last=${!#} fifth=${5}"
echo "slice 2-3: ${@:2:2}"
echo "from 4: ${*:4}"
echo "last two: ${@: -2}"
shift
echo "after shift: $*"
shift 2
echo "after shift 2: $* ($#)"
shift 5
echo "shift too far: status $? still $#"
set -- "${@}" zeta
echo "appended: $*"
set -- $(seq 10 15)
echo "from subst: $# args, tenth=${10}, \$10 is ${1}0"
args() {
    echo "in function: \$#=$# \$1=$1 \$0=${0##*/}"
    set -- replaced
    echo "function set: $1"
}
args one two
echo "outer still: $1"
count() { echo $#; }
echo "count of \"\$@\" when empty: $(set --; count "$@")"
echo "count of \"\$*\" when empty: $(set --; count "$*")"
set -- 'a b' c
for ((i = 1; i <= $#; i++)); do echo "arg $i: ${!i}"; done
set --
echo "cleared: $#"
