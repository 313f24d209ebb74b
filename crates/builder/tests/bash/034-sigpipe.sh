# SIGPIPE: a writer into a closed pipe dies by signal 13 (status 141).
yes | head -1
echo "PIPESTATUS=${PIPESTATUS[*]}"
yes hello | head -n 3 | tail -n 1
echo "PIPESTATUS=${PIPESTATUS[*]}"
seq 1 100000 | head -c 10; echo " PIPESTATUS=${PIPESTATUS[*]}"
set -o pipefail
yes | head -1 >/dev/null
echo "pipefail sees $?"
(trap '' PIPE; yes 2>/dev/null | head -1)
echo "with SIGPIPE ignored: ${PIPESTATUS[*]}"
bash -c 'trap "" PIPE; for i in 1 2 3 4 5 6 7 8 9 10; do echo x || { echo "write failed" >&2; exit 4; }; sleep 0.2; done' | head -n 1
echo "PIPESTATUS=${PIPESTATUS[*]}"
