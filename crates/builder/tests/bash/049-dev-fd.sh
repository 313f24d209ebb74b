# /dev/fd/N: files opened by number, by bash itself and by the tools it runs.
exec 3< /corpus/data/words.txt
head -n 1 /dev/fd/3
exec 3<&-
exec 4> /tmp/fd4.txt
echo "written through /dev/fd/4" > /dev/fd/4
exec 4>&-
cat /tmp/fd4.txt
echo "via fd 0" | cat /dev/fd/0
exec 5<<< "here-string on fd 5"
read -r line < /dev/fd/5
echo "$line"
[[ -e /dev/fd/1 ]] && echo "/dev/fd/1 exists"
[[ -e /dev/fd/9 ]] || echo "/dev/fd/9 does not"
cat /dev/fd/9
echo "status $?"
ls /dev/fd/ >/dev/null && echo "/dev/fd lists"
