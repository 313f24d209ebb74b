# Pipelines: multi-stage busybox tools, PIPESTATUS, ! negation, |&, stderr through pipes.
cat /corpus/data/words.txt | tr ' ' '\n' | sort | uniq -c | sort -rn | head -3
echo "status ${PIPESTATUS[*]}"
false | true | (exit 4)
echo "PIPESTATUS=${PIPESTATUS[*]}"
! true
echo "negated true: $?"
! false | false
echo "negated pipeline: $?"
{ echo out; echo err >&2; } |& sort
{ echo visible; echo hidden >&2; } 2>/dev/null | cat
seq 1 20 | grep 1 | wc -l
seq 1 1000 | tail -n 3 | tac
printf '%s\n' b a c a b | sort -u | tr '\n' ' '; echo
echo "a,b,c" | cut -d, -f2
ls /corpus/data | sort -r | head -n 2
seq 10 | awk '{s+=$1} END {print s}' | sed 's/^/sum=/'
echo one two three | xargs -n 1 echo item
