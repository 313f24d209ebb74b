# exec redirections: permanent fds, saving and restoring stdout, {var} allocated fds.
cd /tmp
exec 3> fd3.txt
echo "line via fd 3" >&3
echo "another" >&3
exec 3>&-
cat fd3.txt
echo "write to closed fd:"
echo x >&3
echo "status $?"
exec 4< /corpus/data/words.txt
read -r w1 <&4
read -r w2 <&4
echo "w1=$w1"
echo "w2=$w2"
exec 4<&-
exec 5>&1
exec > redirected.txt
echo "this goes to the file"
exec 1>&5 5>&-
echo "stdout restored"
cat redirected.txt
exec {myfd}> named.txt
echo "named fd is above 9: $(( myfd >= 10 ))"
echo "through named fd" >&$myfd
exec {myfd}>&-
cat named.txt
exec 6> /dev/null
echo "to null" >&6
exec 6>&-
exec 2> errors.txt
ls /missing
exec 2>&1
echo "errors file: $(cat errors.txt)"
