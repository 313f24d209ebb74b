# Data structures on arrays: a stack, a queue, a set, and balanced-bracket checking.
stack=()
push() { stack+=("$1"); }
pop() { local top=${stack[-1]}; unset 'stack[-1]'; REPLY=$top; }
push a; push b; push c
pop; echo "popped $REPLY, left ${stack[*]}"
queue=()
enqueue() { queue+=("$@"); }
dequeue() { REPLY=${queue[0]}; queue=("${queue[@]:1}"); }
enqueue 1 2 3
dequeue; echo "dequeued $REPLY, left ${queue[*]} (${#queue[@]})"
declare -A set
for x in b a c a b d; do set[$x]=1; done
echo "set: $(printf '%s\n' "${!set[@]}" | sort | tr '\n' ' ')"
balanced() {
    local s=$1 i c st=()
    declare -A pair=([')']='(' [']']='[' ['}']='{')
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        case $c in
            '(' | '[' | '{') st+=("$c") ;;
            ')' | ']' | '}')
                ((${#st[@]})) || return 1
                [[ ${st[-1]} == "${pair[$c]}" ]] || return 1
                unset 'st[-1]' ;;
        esac
    done
    ((${#st[@]} == 0))
}
for s in '(a[b]{c})' '([)]' '((' 'x'; do
    balanced "$s" && echo "$s balanced" || echo "$s unbalanced"
done
