# pipefail: the rightmost failing status of a pipeline, with and without the option.
false | true
echo "without pipefail: $?"
set -o pipefail
false | true
echo "with pipefail: $?"
(exit 3) | (exit 5) | true
echo "rightmost failure: $?"
true | true
echo "all succeed: $?"
grep nothing /corpus/data/words.txt | wc -l
echo "grep found nothing: $? PIPESTATUS=${PIPESTATUS[*]}"
if ! cat /nonexistent 2>/dev/null | sort; then
    echo "the if sees the failure"
fi
out=$(false | echo captured)
echo "subst status $? out=$out"
set +o pipefail
out=$(false | echo captured)
echo "subst status $? out=$out"
set -o | grep pipefail
shopt -o pipefail
