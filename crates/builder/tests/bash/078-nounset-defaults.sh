# set -u with defaults, arrays, $@, and the errors it reports; exits in the end.
set -u
echo "${HOME-}" "${NOPE-fallback}" "${NOPE:+never}"
arr=(1 2)
echo "${arr[5]-missing element}"
declare -A m=([a]=1)
echo "${m[b]-missing key} ${m[a]}"
f() { echo "args: $# ${1-none}"; }
f
f x
echo "positional beyond: ${3-none}"
for v in PATH LC_ALL; do echo "$v=${!v}"; done
unset arr
echo "unset array length: ${#arr[@]}"
( echo "${m[zz]}" )
echo "status $?"
( : "$((undefined_in_arith + 1))" )
echo "arith status $?"
echo "$#"
echo "length of unset: ${#notset}"
echo "not reached"
