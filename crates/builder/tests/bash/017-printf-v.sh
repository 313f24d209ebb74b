# printf -v into variables and array elements, %q, %b, format reuse, errors.
printf -v padded '%05d' 42
echo "padded=$padded"
printf -v line '%s=%s;' a 1 b 2 c 3
echo "line=$line"
declare -a arr
printf -v 'arr[2]' '%x' 255
echo "arr[2]=${arr[2]}"
declare -A map
printf -v 'map[key]' '%s-%s' left right
echo "map[key]=${map[key]}"
printf -v quoted '%q' "it's a \"test\" with spaces & \$stuff"
echo "quoted=$quoted"
eval "unquoted=$quoted"
echo "round trip: $unquoted"
printf '%b\n' 'tab:\tend' 'octal:\0101' 'stop\chere'
printf '%s %s\n' 1 2 3 4 5
printf '%d\n' 12abc
echo "status after bad number: $?"
printf '%s\n'
printf -v empty ''
echo "empty=[${empty}]"
printf -v 'bad name' x
echo "status after bad name: $?"
printf '%c%c%c\n' hello world !
printf '%-8s|%8s|\n' left right
printf '%.3s|%10.4f|%-+5d|%e\n' truncate 3.14159265 7 12345.678
