# Signals between processes: kill -l, kill -0, statuses of children killed by signals.
kill -l 15 2 9
kill -l TERM
kill -0 $$ && echo "kill -0 on ourselves succeeds"
kill -0 99999 2>/dev/null || echo "kill -0 on a missing pid fails"
# bash reports a foreground child killed by most signals with its pid on stderr:
# the group's redirection hides that report.
for sig in TERM INT HUP USR1 KILL; do
    { bash -c "kill -$sig \$\$"; } 2>/dev/null
    echo "$sig: status $?"
done
bash -c 'trap "echo child caught TERM; exit 7" TERM; kill -TERM $$; echo not here'
echo "child with a trap: $?"
sleep 5 &
kill -9 $!
wait $! 2>/dev/null
echo "SIGKILL: $?"
kill -s USR2 99999
echo "kill a missing pid: $?"
kill -BOGUS $$
echo "bad signal name: $?"
trap 'echo "USR1 handled in the parent"' USR1
bash -c 'kill -USR1 $PPID'
sleep 0.2
echo "end"
