# Named pipes: mkfifo, a writer in the background and a reader in the foreground (each
# open waits for the other side), several lines, O_RDWR with exec <>, and the errors.
mkfifo /tmp/p
[[ -p /tmp/p ]] && echo "/tmp/p is a fifo"
stat -c '%F %a' /tmp/p
{ echo "first line"; echo "second line"; } > /tmp/p &
while read -r line; do echo "read: $line"; done < /tmp/p
wait $!
echo "writer status $?"
seq 1 5 > /tmp/p &
sum=0
while read -r n; do sum=$((sum + n)); done < /tmp/p
wait
echo "sum through the fifo: $sum"
exec 3<> /tmp/p
echo "kept in the pipe" >&3
read -r back <&3
echo "O_RDWR: $back"
exec 3>&-
cat /tmp/p > /tmp/out.txt &
echo "to a background cat" > /tmp/p
wait
cat /tmp/out.txt
mkfifo /tmp/p
echo "mkfifo on an existing name: $?"
rm /tmp/p
[[ -e /tmp/p ]] || echo "removed"
