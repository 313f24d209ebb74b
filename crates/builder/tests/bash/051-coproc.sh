# coproc: a co-process with two pipes; named coprocs; its exit status.
# bash closes a coprocess's fds and unsets NAME and NAME_PID once it has reaped it,
# which may happen as soon as it ends: the pid and the read end are kept first.
coproc BC { while read -r a b; do echo $((a * b)); done; }
bc_pid=$BC_PID
echo "6 7" >&"${BC[1]}"
read -r product <&"${BC[0]}"
echo "product=$product"
echo "12 12" >&"${BC[1]}"
read -r product <&"${BC[0]}"
echo "product=$product"
exec {BC[1]}>&-
wait "$bc_pid"
echo "coproc exited $?"
coproc upper { tr a-z A-Z; }
upper_pid=$upper_PID
exec {upper_out}<&"${upper[0]}"
echo "shout this" >&"${upper[1]}"
exec {upper[1]}>&-
read -r loud <&"$upper_out"
echo "$loud"
wait "$upper_pid"
coproc { read -r word; echo "anonymous coproc got $word"; exit 3; }
anon_pid=$COPROC_PID
exec {anon_out}<&"${COPROC[0]}"
echo go >&"${COPROC[1]}"
read -r msg <&"$anon_out"
wait "$anon_pid"
echo "$msg, status $?"
