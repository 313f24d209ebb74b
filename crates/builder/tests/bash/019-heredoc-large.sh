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
EOF
)
echo "lines: $count"
sum=$(md5sum <<EOF
$big
EOF
)
echo "md5 ${sum%% *}"
echo "here-string: $(wc -c <<< "$big") bytes"
echo "files left in /tmp: $(ls -A /tmp | wc -l)"
