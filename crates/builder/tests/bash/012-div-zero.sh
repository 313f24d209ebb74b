# Division by zero and bad arithmetic: errors with bash's messages and statuses.
echo "start"
( echo $((10 / 0)) )
echo "subshell status $?"
( echo $((10 % 0)) )
echo "modulo status $?"
x=0
if ! ( (( 5 / x )) ); then echo "(( )) failed as expected"; fi
( echo $((1 +)) )
echo "syntax status $?"
( echo $((2 ** -1)) )
echo "negative exponent status $?"
( echo $(( 08 )) )
echo "bad octal status $?"
( echo $(( 3#5 )) )
echo "bad base digit status $?"
y=$(( 7 / 2 ))
echo "y=$y"
echo $(( 1 / 0 ))
echo "the script goes on after an expansion error"
