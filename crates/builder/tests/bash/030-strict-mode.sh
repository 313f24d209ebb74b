# The usual strict prologue: set -euo pipefail with an ERR report; a pipeline fails.
set -euo pipefail
trap 'echo "failed at line $LINENO with status $?" >&2' ERR
IFS=$'\n\t'
names=$(cut -d, -f1 /corpus/data/people.csv | tail -n +2 | sort)
echo "names: $(echo $names | tr '\n' ' ')"
count=$(grep -c paris /corpus/data/people.csv)
echo "paris: $count"
total=0
while IFS=, read -r _ age _ _; do
    total=$((total + age))
done < <(tail -n +2 /corpus/data/people.csv)
echo "total age: $total"
grep -q berlin /corpus/data/people.csv && echo "berlin present"
echo "now a failing pipeline"
grep tokyo /corpus/data/people.csv | sort
echo "not reached"
