# Signal traps: INT and USR1 handlers via kill $$, ignored signals, then the default.
trap 'echo "caught INT"' INT
kill -INT $$
echo "survived INT"
trap 'echo "caught USR1"; usr1=$((usr1 + 1))' USR1
kill -USR1 $$
kill -s USR1 $$
echo "usr1 count=$usr1"
trap '' TERM
kill -TERM $$
echo "TERM ignored"
trap -p INT USR1 TERM
trap 'echo "HUP then exit"; exit 9' HUP
kill -HUP $$
echo "not reached"
