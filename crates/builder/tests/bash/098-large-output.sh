# Large outputs: tens of KiB through pipes, files, /dev/null and substitutions, checked
# by sizes and checksums (the sizes are kept small: the lifted tools are slow).
seq 1 2000 > /tmp/nums.txt
for i in 1 2 3 4; do cat /tmp/nums.txt; done > /tmp/big.txt
wc -c < /tmp/big.txt
md5sum /tmp/big.txt
tail -n 1 /tmp/big.txt
cat /tmp/big.txt > /dev/null && echo "all of it to /dev/null"
cat /tmp/big.txt | cat | cat | wc -l
head -c 70000 /dev/zero | tr '\0' 'a' | md5sum
big=$(cat /tmp/big.txt)
echo "captured ${#big} bytes"
printf '%s\n' "$big" | tail -c 15
printf '%s\n' "$big" > /tmp/copy.txt && cmp /tmp/big.txt /tmp/copy.txt && echo "written back identical"
yes abcdefghijklmnopqrstuvwxyz | head -n 1000 | sha256sum
{ cat /tmp/big.txt; cat /tmp/big.txt >&2; } 2>&1 >/dev/null | wc -c
