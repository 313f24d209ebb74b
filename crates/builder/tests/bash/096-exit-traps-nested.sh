# exit inside an EXIT trap, exit status changes in traps, traps in nested bash.
bash -c 'trap "echo inner trap; exit 9" EXIT; exit 2'
echo "exit in the EXIT trap wins: $?"
bash -c 'trap "echo trap sees \$?" EXIT; false'
echo "status without exit in trap: $?"
bash -c 'trap "false" EXIT; exit 0'
echo "a failing command in the trap does not change it: $?"
bash -c 'f() { exit 5; }; trap f EXIT; true'
echo "function exit from trap: $?"
bash -c 'trap "echo ERR fired" ERR; set -e; false; echo no'
echo "ERR then set -e: $?"
out=$(bash -c 'trap "echo to stdout in trap" EXIT; echo body')
echo "captured: $(echo $out)"
trap 'echo "final trap, status $?"; exit 0' EXIT
false
exit 6
