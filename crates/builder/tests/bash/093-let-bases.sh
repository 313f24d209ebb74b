# let and number bases: printf conversions, leading zeros, negative modulo, comparisons.
let a=5 b=a*2 "c = b ** 2"
echo "$a $b $c"
let "x = 0"; echo "let of zero returns $?"
let "y = 3"; echo "let of nonzero returns $?"
printf '%d %d %d %d\n' 010 0x10 16#10 2#10 2>&1
echo $((010)) $((0x10)) $((16#10)) $((2#10))
v=08
echo "leading zero as decimal: $((10#$v))"
echo "negative modulo: $((-7 % 3)) $((7 % -3))"
echo "integer division truncates: $((-7 / 2)) $((7 / 2))"
printf '%o %x %X %#x\n' 8 255 255 255
printf '%d\n' 0xff 077 "'x"
for n in 0 1 255 4096; do printf '%4d = 0x%04x = 0%o\n' $n $n $n; done
echo "comparisons: $((3 < 5)) $((5 <= 5)) $((-1 > 0)) $((2 == 2.0))" 2>&1
echo "after the error"
echo "comma operator: $((a = 1, b = 2, a + b))"
echo "assignment in expression: $((z = 7)) z=$z"
i=0; ((i++)); ((i++)); echo "post-increment twice: $i"
