# Traps in subshells and functions: reset in ( ), kept ignored, EXIT in subshells, ERR in functions.
trap 'echo "parent EXIT"' EXIT
trap 'echo parent USR1' USR1
trap '' USR2
(
    echo "subshell traps:"
    trap
    kill -USR2 $BASHPID
    echo "USR2 still ignored in the subshell"
)
(trap 'echo "subshell EXIT"' EXIT; exit 4)
echo "subshell status $?"
out=$(trap 'echo "substitution EXIT"' EXIT; echo body)
echo "captured: $out"
f() {
    trap 'echo "function set an EXIT trap for the shell"' EXIT
}
f
trap -p EXIT
g() ( trap 'echo "g subshell EXIT"' EXIT; return 3 )
g
echo "g returned $?"
set -o functrace
trap 'echo "RETURN from ${FUNCNAME[0]}"' RETURN
h() { :; }
h
