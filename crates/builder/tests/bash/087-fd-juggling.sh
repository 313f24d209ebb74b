# File descriptor juggling: swap stdout and stderr, capture stderr only, tee to both.
noisy() { echo "out line"; echo "err line" >&2; }
swapped=$( { noisy 3>&1 1>&2 2>&3 3>&-; } 2>/dev/null )
echo "captured after swap: $swapped"
err_only=$(noisy 2>&1 >/dev/null)
echo "stderr only: $err_only"
both=$(noisy 2>&1)
echo "both: $(echo $both)"
{ noisy 2>&1 1>&3 3>&- | sed 's/^/[err] /' 3>&-; } 3>&1
exec 7>&1
out=$(echo "to saved stdout" >&7; echo captured)
echo "captured: $out"
exec 7>&-
echo "line" | tee /tmp/tee.out >/dev/null
cat /tmp/tee.out
{ echo "group out"; echo "group err" >&2; } > /tmp/g.out 2> /tmp/g.err
echo "out file: $(cat /tmp/g.out), err file: $(cat /tmp/g.err)"
exec 8>/tmp/closeme
echo "fd 8 open"
exec 8>&-
echo test >&8
echo "closed fd: $?"
cat <&- 2>&1
echo "cat with closed stdin: $?"
