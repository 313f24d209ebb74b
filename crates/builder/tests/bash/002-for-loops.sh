# for loops: lists, C-style, ranges, break/continue, nested, over globs and $@.
for fruit in apple banana cherry; do
    echo "fruit: $fruit"
done
for ((i = 0; i < 5; i++)); do
    printf '%d ' "$i"
done
echo
for ((i = 10, j = 0; i > j; i -= 3, j++)); do
    echo "i=$i j=$j"
done
for n in {1..10}; do
    (( n % 2 == 0 )) && continue
    (( n > 7 )) && break
    echo "odd $n"
done
for a in x y; do
    for b in 1 2 3; do
        [[ $b == 3 ]] && continue 2
        echo "$a$b"
    done
done
set -- first "second arg" third
for arg; do echo "arg=[$arg]"; done
total=0
for v in $(seq 1 100); do total=$((total + v)); done
echo "total=$total"
for ((;;)); do
    total=$((total / 2))
    [[ $total -lt 100 ]] && break
done
echo "halved to $total"
