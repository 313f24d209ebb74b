# ERR traps: command, line and status; errtrace into functions; not for conditions.
trap 'echo "ERR: status $? at line $LINENO: $BASH_COMMAND"' ERR
false
echo "after false"
ls /nonexistent 2>/dev/null
if false; then :; fi
false || true
echo "conditions do not trigger it"
f() { false; echo "f goes on"; }
f
set -o errtrace
g() { (exit 9); echo "g goes on"; }
g
trap - ERR
false
echo "trap removed"
trap 'echo "ERR in subshell $?"' ERR
( set -E; exit 5 )
x=$(false)
echo "done"
