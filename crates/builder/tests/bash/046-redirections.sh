# Redirections: >, >>, 2>, 2>&1, &>, <, <>, /dev/null, noclobber and >|, order.
cd /tmp
echo first > out.txt
echo second >> out.txt
cat out.txt
ls /nonexistent 2> err.txt
echo "captured: $(cat err.txt)"
{ echo to-out; echo to-err >&2; } > both.txt 2>&1
cat both.txt
{ echo o; echo e >&2; } &> amp.txt
sort amp.txt
{ echo kept; echo dropped >&2; } 2>/dev/null
echo noise > /dev/null
echo "after /dev/null: $?"
ls /nonexistent 2>&1 >/dev/null | sed 's/^/stderr only: /'
wc -l < out.txt
echo "12345" > rw.txt
exec 3<> rw.txt
read -r -n 2 head <&3
echo -n "XY" >&3
exec 3>&-
echo "head=$head file=$(cat rw.txt)"
set -o noclobber
echo again > out.txt
echo "noclobber status: $?"
echo forced >| out.txt
cat out.txt
set +o noclobber
> empty.txt
echo "empty size: $(wc -c < empty.txt)"
cat < /nonexistent
echo "input redirect failure: $?"
echo x > /nonexistent/dir/file
echo "output redirect failure: $?"
