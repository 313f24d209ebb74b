# Syntax errors: in eval (the script goes on), in bash -c, bash -n, then in this file.
eval 'if true then echo x; fi'
echo "eval status $?"
eval 'echo "unterminated'
echo "eval status $?"
bash -c 'for i in 1 2; do echo $i; dne'
echo "bash -c status $?"
printf 'echo ok\ncase x in\n' > /tmp/bad.sh
bash -n /tmp/bad.sh
echo "bash -n status $?"
bash /tmp/bad.sh
echo "running it: $?"
echo "before the error in this file"
(( 1 + ))
echo "arith command error status $?"
fi
echo "not reached"
