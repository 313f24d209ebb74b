# set -u: unset variables are errors; defaults, $@ and empty arrays are not.
set -u
defined=value
echo "$defined ${undefined:-default} ${undefined-other}"
set --
echo "no args: [$*] [$#]"
empty=()
echo "empty array: [${empty[@]}] count ${#empty[@]}"
declare -A map=()
echo "empty map keys: [${!map[@]}]"
[[ -v undefined ]] || echo "-v test is fine"
( echo "$undefined_in_subshell" )
echo "subshell status $?"
f() { echo "arg1=$1"; }
f given
( f )
echo "function status $?"
echo "${arr_unset[0]}"
echo "not reached"
