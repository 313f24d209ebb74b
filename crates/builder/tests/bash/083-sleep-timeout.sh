# sleep and timeout from busybox, killing a sleeper, and waiting for a slow job.
sleep 0.1
echo "slept: $?"
timeout 0.3 sleep 5
echo "timeout killed sleep: $?"
timeout 5 sleep 0.1
echo "finished in time: $?"
timeout -s INT 0.2 sleep 5
echo "timeout with INT: $?"
sleep 5 &
pid=$!
sleep 0.1
kill -TERM $pid
wait $pid
echo "sleeper killed by TERM: $?"
(sleep 0.2; echo "slow job done") &
wait
echo "after wait"
sleep 0.1 & sleep 0.2 &
wait
echo "waited for two sleepers: $?"
sleep bogus
echo "bad argument: $?"
