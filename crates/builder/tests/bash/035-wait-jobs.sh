# Background jobs: $!, wait for one, all, and -n, their exit statuses.
(exit 3) &
p1=$!
(sleep 0.1; exit 5) &
p2=$!
true &
p3=$!
wait $p1; echo "p1 exited $?"
wait $p2; echo "p2 exited $?"
wait $p3; echo "p3 exited $?"
for i in 1 2 3; do (exit $((i * 10))) & done
wait
echo "wait for all: $?"
(
    (sleep 1; exit 7) >/dev/null 2>&1 &
    (exit 4) &
    wait -n
    echo "wait -n: $?"
)
wait 99999
echo "unknown pid: $?"
out=/tmp/jobs.out
for i in 1 2 3; do { echo "job $i" >> "$out.$i"; } & done
wait
cat "$out".* | sort
sleep 5 &
kill $!
wait $!
echo "killed job: $?"
{ echo "group in background"; } &
wait
