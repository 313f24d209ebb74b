# while and until loops, loop conditions with commands, reading numbers.
i=0
while [ $i -lt 5 ]; do
    i=$((i + 1))
done
echo "while ended at $i"
until [[ $i -eq 0 ]]; do
    printf '%s' "$i"
    ((i--))
done
echo
n=27 steps=0
while (( n != 1 )); do
    if (( n % 2 )); then n=$((3 * n + 1)); else n=$((n / 2)); fi
    ((steps++))
done
echo "collatz(27) takes $steps steps"
count=0
while read -r num; do
    (( num > 50 )) && count=$((count + 1))
done < /corpus/data/numbers.txt
echo "$count numbers above 50"
while false; do echo never; done
echo "status after empty while: $?"
x=3
while ((x--)); do echo "x is now $x"; done
while :; do
    echo infinite-once
    break
done
