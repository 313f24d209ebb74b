# mapfile / readarray: -t, -s, -n, -O, -d, callbacks, from pipes and process substitution.
mapfile -t lines < /corpus/data/words.txt
echo "count=${#lines[@]}"
echo "third=${lines[2]}"
mapfile -t -s 1 -n 2 some < /corpus/data/people.csv
printf '[%s]\n' "${some[@]}"
mapfile lines_nl < /corpus/data/words.txt
printf '%s' "${lines_nl[0]}"
readarray -t nums < <(seq 5 5 25)
echo "nums=${nums[*]}"
mapfile -t -O 10 offset <<< $'a\nb'
echo "offset keys: ${!offset[*]}"
mapfile -t -d , parts <<< "x,y,z"
echo "parts=${#parts[@]} last=[${parts[2]}]"
show() { echo "callback at $1: $2"; }
mapfile -t -C show -c 2 cb < <(printf '%s\n' one two three four five)
echo "cb=${cb[*]}"
echo -n "" | mapfile -t none
mapfile -t none < /dev/null
echo "none=${#none[@]}"
seq 3 | mapfile -t lost
echo "lost in pipe=${#lost[@]}"
