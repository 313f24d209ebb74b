# printf: integers, floats, strings, widths, precision, flags, %q, %b and escapes.
printf '%d|%i|%5d|%-5d|%05d|%+d|% d\n' 42 42 42 42 42 42 42
printf '%o|%x|%X|%#o|%#x\n' 255 255 255 255 255
printf '%u\n' 3000000000
printf '%f|%.2f|%10.3f|%-10.1f|%e|%E|%g|%G\n' 3.14159 3.14159 3.14159 3.14159 31415.9 0.000314 0.0001 1e20
printf '%s|%10s|%-10s|%.2s\n' abc abc abc abc
printf '%c|%c\n' A 65
printf '%%|%5%\n' 2>&1
printf '%*d|%-*d|\n' 6 7 6 7
printf '%.*f\n' 3 2.718281828
printf "%d\n" "'A" '"a'
printf 'hex in: %d %d\n' 0x1F 010
printf '%s\n' "multiple" "args" "reuse"
printf '%s=%d\n' a 1 b
printf '\x41\102\u0043\n'
printf 'no newline'
printf '\n'
printf -- '-dash-\n'
printf '%5.1s|\n' xyz
printf '%q %q %q\n' 'a b' "tab	char" ''
printf '%d\n' ''
printf '%s\n' "$(printf '%03d,' 1 2 3)"
printf '%b' 'escape\x21\n'
TZ=UTC printf '%(%Y-%m-%d %H:%M:%S)T\n' 0 86399
