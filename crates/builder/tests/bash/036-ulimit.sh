# ulimit: reading the file and stack limits, lowering them, the errors.
echo "open files: $(ulimit -n)"
echo "hard open files: $(ulimit -Hn)"
echo "stack: $(ulimit -s)"
echo "core: $(ulimit -c)"
(
    ulimit -Sn 64
    echo "soft lowered: $(ulimit -Sn), hard kept: $(ulimit -Hn)"
    ulimit -Sn 128
    echo "soft raised within hard: $(ulimit -n)"
    ulimit -Hn 100
    echo "hard lowered: $(ulimit -Hn) soft now: $(ulimit -Sn)"
    ulimit -n 200
    echo "above hard: $?"
    ulimit -n 50
    echo "both set: $(ulimit -Sn) $(ulimit -Hn)"
)
echo "back in parent: $(ulimit -n)"
(ulimit -n 10; exec 3>/tmp/a 4>/tmp/b 5>/tmp/c 6>/tmp/d 7>/tmp/e 8>/tmp/f 9>/tmp/g; echo "fds up to 9 open")
(ulimit -n 5; exec 7>/tmp/h; echo "fd 7 with limit 5: $?")
ulimit -n bogus
echo "bad value: $?"
(ulimit -Ss 4096; echo "stack lowered: $(ulimit -s)")
