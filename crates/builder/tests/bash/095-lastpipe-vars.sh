# Variables across pipelines: lost in pipeline subshells, kept with lastpipe or process substitution.
count=0
printf '%s\n' a b c | while read -r _; do ((count++)); done
echo "pipeline loop: count=$count"
while read -r _; do ((count++)); done < <(printf '%s\n' a b c)
echo "process substitution loop: count=$count"
shopt -s lastpipe
printf '%s\n' d e | while read -r _; do ((count++)); done
echo "lastpipe loop: count=$count"
echo "x y" | read -r first second
echo "lastpipe read: $first $second"
declare -A seen
printf '%s\n' k1 k2 k1 | while read -r k; do seen[$k]=1; done
echo "keys kept: ${#seen[@]}"
shopt -u lastpipe
echo "z" | read -r first
echo "without lastpipe: $first"
total=$(seq 1 4 | { t=0; while read -r n; do t=$((t + n)); done; echo $t; })
echo "total from a group: $total"
