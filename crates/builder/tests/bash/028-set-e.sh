# set -e: which failures exit the shell and which do not.
set -e
false || echo "|| protects"
if false; then echo no; else echo "if protects"; fi
while false; do :; done
! true
echo "! does not trigger set -e"
f() { false; echo "f continues (called in a condition)"; }
f || echo "never"
f && echo "and-list"
x=$(false) || echo "subst failure caught: $?"
echo "exit status check $(( 1 + 1 ))"
g() { echo "g runs"; return 1; }
g || true
echo "about to fail"
cat /nonexistent/file
echo "not reached"
