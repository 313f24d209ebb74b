# read from pipes: the subshell loses variables, lastpipe keeps them, group commands.
echo "piped value" | read -r v
echo "after pipe: [${v-unset}]"
echo "piped value" | { read -r v; echo "inside group: [$v]"; }
shopt -s lastpipe
echo "kept value" | read -r kept
echo "with lastpipe: [$kept]"
shopt -u lastpipe
seq 1 5 | while read -r n; do echo "square $((n * n))"; done
total=0
seq 1 10 | { while read -r n; do total=$((total + n)); done; echo "sum in group: $total"; }
echo "sum outside: $total"
printf 'a b\nc d\n' | while read -r left right; do echo "$right-$left"; done
printf 'x\0y\0z\0' | while IFS= read -r -d '' item; do echo "nul item $item"; done
cat /corpus/data/words.txt | head -2 | while read -r w1 _; do echo "first word: $w1"; done
result=$(echo "from subst" | { read -r r; echo "$r!"; })
echo "$result"
