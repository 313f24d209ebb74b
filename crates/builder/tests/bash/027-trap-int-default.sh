# A trap reset with `trap - INT`: the next SIGINT ends the shell (status 130).
trap 'echo "trapped once"' INT
kill -INT $$
trap - INT
echo "default restored"
trap 'echo "the EXIT trap runs before the shell dies of SIGINT"' EXIT
kill -INT $$
echo "not reached"
