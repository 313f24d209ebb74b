# set -euo pipefail in a data pipeline: ERR trap with BASH_COMMAND, a failure in the middle.
set -euo pipefail
trap 'rc=$?; echo "ERR: [$BASH_COMMAND] -> $rc" >&2' ERR
trap 'echo "EXIT with $?" >&2' EXIT
step() { echo "step $1"; }
step 1
sorted=$(sort -n /corpus/data/numbers.txt | head -n 3 | paste -sd,)
echo "smallest: $sorted"
step 2
lines=$(cat /corpus/data/words.txt | grep -c the)
echo "lines with 'the': $lines"
step 3
cat /corpus/data/words.txt | awk '{ if (NR == 2) exit 3; print }' | wc -l
echo "not reached"
