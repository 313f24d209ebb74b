# set -e corner cases: local masks failures, && lists, functions in conditions, subshells.
set -e
f() { local v=$(false); echo "local hid the failure"; }
f
g() { local v; v=$(false); echo "g goes on: set -e is off inside a condition"; }
if g; then echo "g in a condition ran fully"; fi
false && echo "no"
echo "a failing && list's left side does not exit"
h() { false; echo "h goes on: set -e is off left of ||"; }
(h) || echo "subshell running h failed: $?"
result=$(set -e; false; echo "left of ||, set -e is off in the substitution too") || echo "unreachable"
echo "result=[$result]"
set +e
result=$(set -e; false; echo "not printed")
echo "plain substitution with set -e: status $? result=[$result]"
set -e
count=0
((count++)) || echo "((0)) is false, caught"
echo "count=$count"
set +e
(set -e; false; echo unreachable)
echo "set -e in a subshell: $?"
set -e
trap 'echo "exiting with $?"' EXIT
((count--))
echo "count=$count"
((count--))
echo "not reached"
