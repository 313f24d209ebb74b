# trap management: listing, resetting with -, ignoring with '', subshells, RETURN and DEBUG.
trap 'echo on-exit' EXIT
trap 'echo usr1' USR1
trap 'echo usr2' SIGUSR2
trap -p
trap - USR1
echo "after reset:"
trap -p
trap '' USR1
kill -USR1 $$
echo "ignored USR1"
( trap -p USR2 | sed 's/^/subshell sees: /' )
( kill -USR2 $BASHPID; echo "subshell default USR2 kills it" )
echo "subshell status $?"
f() { echo "in f"; }
trap 'echo "returning from ${FUNCNAME[0]}"' RETURN
f
trap - RETURN
f
count=0
trap 'count=$((count + 1))' DEBUG
a=1
b=2
trap - DEBUG
echo "debug trap ran $count times"
trap -l | head -n 2
trap 'echo bad' NOSUCHSIG
echo "bad signal status $?"
trap - EXIT
echo "no exit trap now"
