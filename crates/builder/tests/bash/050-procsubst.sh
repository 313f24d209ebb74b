# Process substitution: <(...) as input files, >(...) as output, loops over <(...).
diff <(printf 'a\nb\nc\n') <(printf 'a\nB\nc\n')
echo "diff status $?"
paste -d: <(seq 1 3) <(seq 4 6)
while read -r n; do total=$((total + n)); done < <(seq 1 10)
echo "total kept outside: $total"
echo "the name: $(echo <(true) | sed 's/[0-9]*$/N/')"
cat <(echo from) <(echo two) <(echo substitutions)
echo "fed to a writer" > >(tr a-z A-Z)
wait $!
# Not in a pipeline: the substitution is the shell's own, so $! is its pid.
tee >(wc -c > /tmp/count.txt) > /dev/null <<< "tee into two"
wait $!
echo "bytes: $(cat /tmp/count.txt)"
sort -n <(printf '%s\n' 10 2 33 4)
grep -Fx -f <(printf "%s\n" b d e) <(printf "%s\n" a b c d)
mapfile -t arr < <(printf '%s\n' x y)
echo "mapfile from <(): ${arr[*]}"
