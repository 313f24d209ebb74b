# Command substitution: $(...), backticks, nesting, trailing newlines, $(< file), status.
now=$(echo "from a subshell")
echo "$now"
old=`echo backticks \`echo nested\``
echo "$old"
nested=$(echo outer $(echo middle $(echo inner)))
echo "$nested"
trailing=$(printf 'text\n\n\n')
echo "[$trailing]"
leading=$(printf '\n\nlead')
echo "[$leading]"
content=$(< /corpus/data/words.txt)
echo "${#content} chars, first line: ${content%%$'\n'*}"
lines=$(wc -l < /corpus/data/people.csv)
echo "people lines: $lines"
x=$(exit 7)
echo "status of assignment from failing subst: $?"
var=outer
y=$(var=inner; echo $var)
echo "y=$y var=$var"
count=$(seq 1 100 | grep -c 7)
echo "numbers with a 7: $count"
arr=($(echo a b c))
echo "array from subst: ${#arr[@]}"
quoted="$(echo "  spaced   out  ")"
echo "[$quoted]"
echo "arith on subst: $(( $(echo 20) + $(echo 22) ))"
echo "case in subst: $(case x in x) echo matched;; esac)"
echo "$(echo "quotes \"inside\" subst")"
