# 64-bit arithmetic: wraparound, limits, the INTMAX_MIN corner cases bash guards.
max=9223372036854775807
echo "max=$max"
echo "max+1=$((max + 1))"
echo "min=$((-max - 1))"
echo "min-1=$((-max - 2))"
echo "2**63=$((2 ** 63))"
echo "2**64=$((2 ** 64))"
echo "big product=$((123456789 * 987654321 * 1000))"
min=$((-max - 1))
echo "min/-1=$((min / -1))"
echo "min%-1=$((min % -1))"
echo "-min=$((-min))"
echo "shift 1<<63: $((1 << 63)) 1<<64: $((1 << 64))"
echo "negative shift: $((-16 >> 2))"
echo "hex max: $((0x7fffffffffffffff)) hex wrap: $((0xffffffffffffffff))"
echo "too big literal: $((99999999999999999999))"
printf '%d %u %x\n' -1 -1 -1
printf '%d\n' 9223372036854775807
printf '%d\n' 9223372036854775808 2>&1
echo "status $?"
