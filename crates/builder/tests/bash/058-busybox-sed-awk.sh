# sed and awk programs from bash: substitutions, addresses, fields, arrays, printf.
csv=/corpus/data/people.csv
sed -n '2,4p' $csv
sed 's/,/ | /g; 1d' $csv | head -n 2
sed -E 's/^([a-z]+),([0-9]+).*/\2 \1/' $csv | tail -n +2 | sort -n
sed '/berlin/!d' $csv
sed '1i header line' /corpus/data/words.txt | head -n 2
sed -n '/glitters/{s/gold/GOLD/;p}' /corpus/data/words.txt
echo "a.b.c" | sed 's/\./\//2'
awk -F, 'NR > 1 { sum += $2; n++ } END { printf "avg age %.2f over %d\n", sum / n, n }' $csv
awk -F, 'NR > 1 { by[$3] += $4; c[$3]++ } END { for (k in by) print k, by[k] / c[k] }' $csv | sort
awk '{ for (i = NF; i > 0; i--) printf "%s%s", $i, (i > 1 ? " " : "\n") }' /corpus/data/words.txt | head -n 2
awk 'BEGIN { x = 2 * 512; s = sprintf("%05.1f", 3.14159); print x, s, length("hello"), substr("abcdef", 2, 3), toupper("up") }'
awk -v name=bash 'BEGIN { print "hello " name }'
seq 1 10 | awk '$1 % 3 == 0'
echo "x=1 y=2" | awk '{ split($0, kv, /[ =]/); print kv[2] + kv[4] }'
limit=40
awk -F, -v lim="$limit" 'NR > 1 && $2 > lim { print $1 }' $csv
seq 5 | sed -n '$p'
printf 'one\ntwo\nthree\n' | sed = | sed 'N; s/\n/ /'
