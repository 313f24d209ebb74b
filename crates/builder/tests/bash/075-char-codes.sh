# Characters and codes: printf "'c", octal and hex escapes, tr ranges, od, base conversion.
for c in A a 0 ' ' '~'; do printf '%s=%d ' "$c" "'$c"; done; echo
chr() { printf "\\$(printf '%03o' "$1")"; }
for n in 72 105 33; do chr $n; done; echo
to_hex() { local s=$1 i out=""; for ((i = 0; i < ${#s}; i++)); do out+=$(printf '%02x' "'${s:i:1}"); done; echo "$out"; }
to_hex "bash"
printf '%b\n' '\x62\x61\x73\x68'
echo -n "bash" | od -An -tx1 | tr -s ' '
echo -n "bash" | xxd -p
tobase() { local n=$1 b=$2 digits=0123456789abcdef out=""; while ((n > 0)); do out=${digits:n%b:1}$out; n=$((n / b)); done; echo "${out:-0}"; }
echo "255 in base 2: $(tobase 255 2), base 16: $(tobase 255 16), base 7: $(tobase 255 7)"
echo "back: $((2#11111111)) $((16#ff)) $((7#513))"
echo "caesar" | tr 'a-z' 'd-za-c'
printf '%s\n' "$(printf '\\%o' 104 105)"
printf '%d\n' "'é" 2>&1
