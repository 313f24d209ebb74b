# A here-document larger than a pipe (> 64 KiB): bash writes it to a file in /tmp.
big=$(printf '%070000d' 0)
echo "variable is ${#big} bytes"
cat <<EOF | wc -c
$big
EOF
cat <<EOF | tr 0 x | head -c 20; echo
$big
and a second line
EOF
count=$(wc -l <<EOF
$big
$big
$big
EOF
)
echo "lines: $count"
sum=$(md5sum <<EOF
$big
EOF
)
echo "md5 ${sum%% *}"
lines=$(printf 'line %s of a long document\n' {1..2600})
tail -n 2 <<EOF
$lines
EOF
read -r first <<< "$big"
echo "here-string ${#first} bytes"
echo "files left in /tmp: $(ls -A /tmp | wc -l)"
