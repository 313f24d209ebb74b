# Function metadata: FUNCNAME, BASH_SOURCE, BASH_LINENO, caller, declare -F/-f, unset -f.
outer() { inner; }
inner() {
    echo "FUNCNAME: ${FUNCNAME[*]}"
    echo "BASH_LINENO: ${BASH_LINENO[*]}"
    echo "BASH_SOURCE: ${BASH_SOURCE[*]}"
    caller 0
    caller 1
    caller 2 || echo "caller 2: none ($?)"
}
outer
echo "LINENO here: $LINENO"
f() { :; }
declare -F f
declare -F nosuch || echo "declare -F missing: $?"
unset -f f
type f 2>&1
echo "type after unset: $?"
g() { echo "g v1"; }
h=$(declare -f g)
unset -f g
eval "$h"
g
recursive_name() { echo "${FUNCNAME[0]} called by ${FUNCNAME[1]:-top}"; }
wrapper() { recursive_name; }
wrapper
recursive_name
function with-dash { echo "functions may have dashes"; }
with-dash
