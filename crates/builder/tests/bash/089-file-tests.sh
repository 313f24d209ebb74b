# File tests: -e -f -d -s -r -w -x -L -h -p -c -S, -ef, empty files, permissions.
cd /tmp
echo content > file; : > empty; mkdir -p dir; ln -sf file link; ln -sf missing dangling
mkfifo fifo
chmod 640 file
for t in -e -f -d -s -r -w -x -L -p -c; do
    line="$t:"
    for f in file empty dir link dangling fifo /dev/null /bin/bash nothing; do
        # A directory's size is the filesystem's business (4096 on ext4): -s skips it.
        [[ $t == -s && $f == dir ]] && continue
        if test $t "$f"; then line+=" $f"; fi
    done
    echo "$line"
done
[[ file -ef link ]] && echo "link -ef file"
[[ file -ef empty ]] || echo "empty is not file"
[[ -n "" ]] || echo "-n on empty fails"
[[ -z "" ]] && echo "-z on empty succeeds"
[ -t 0 ] || echo "stdin is not a terminal"
[[ -O file && -G file ]] && echo "owned by us"
stat -c '%a %U %G' file
[[ -k /tmp ]] && echo "/tmp is sticky"
[[ -u /bin/bash ]] || echo "bash is not setuid"
test -f; echo "test -f with no file: $?"
