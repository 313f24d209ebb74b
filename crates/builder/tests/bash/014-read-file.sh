# read from files: line loops, fields, -d, -n, -N, the last line without a newline.
while IFS=, read -r name age city score; do
    [[ $name == name ]] && continue
    printf '%-6s %3d %-7s %s\n' "$name" "$age" "$city" "$score"
done < /corpus/data/people.csv
printf 'no trailing newline' > /tmp/partial.txt
while read -r line || [[ -n $line ]]; do echo "got [$line]"; done < /tmp/partial.txt
read -r -d ':' user < /corpus/../etc/passwd
echo "user=$user"
read -r -n 5 five < /corpus/data/words.txt
echo "five=[$five]"
read -r -N 12 twelve < /corpus/data/words.txt
echo "twelve=[$twelve]"
exec 3< /corpus/data/words.txt
read -r l1 <&3
read -r l2 <&3
exec 3<&-
echo "l1=$l1"
echo "l2=$l2"
lines=0 words=0
while read -r -a w; do
    lines=$((lines + 1)); words=$((words + ${#w[@]}))
done < /corpus/data/words.txt
echo "lines=$lines words=$words"
read -r missing < /nonexistent/file
echo "status=$?"
read -r nothing < /dev/null
echo "from /dev/null status=$? value=[$nothing]"
