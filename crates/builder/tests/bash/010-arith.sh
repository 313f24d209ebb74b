# Arithmetic: $(( )), (( )), operators, bases, precedence, assignment operators.
a=17 b=5
echo "$((a + b)) $((a - b)) $((a * b)) $((a / b)) $((a % b)) $((a ** 2))"
echo "$((-a / b)) $((-a % b)) $((a << 3)) $((a >> 2)) $((a & b)) $((a | b)) $((a ^ b)) $((~a))"
echo "$((a > b)) $((a < b)) $((a == 17)) $((a != 17)) $((!a)) $((a && 0)) $((a || 0))"
echo "$((a > b ? a : b)) $((2 + 3 * 4)) $(((2 + 3) * 4)) $((2 ** 3 ** 2))"
echo "hex $((0xff)) octal $((017)) binary $((2#1011)) base36 $((36#zz)) base64 $((64#_))"
((c = a * 2, c += 1))
echo "c=$c"
x=5
echo "$((x++)) $x $((++x)) $x $((x--)) $((--x))"
((x *= 3)); ((x -= 1)); ((x /= 2)); ((x %= 4)); ((x <<= 2)); ((x |= 1))
echo "x=$x"
if ((a > 10 && b < 10)); then echo "both true"; fi
((0)); echo "(( 0 )) status $?"
((7)); echo "(( 7 )) status $?"
n=abc abc=12
echo "indirect arithmetic $((n + 1))"
declare -i i=3*4
i+=2
echo "declare -i: $i"
let "y = 2 ** 10" "z = y / 3"
echo "let: $y $z"
echo "nested $(( $(echo 6) * $((1 + 1)) ))"
echo "spaces $((  1+   2 ))"
