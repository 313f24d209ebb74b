# case: patterns, alternatives, classes, fall-through with ;& and ;;&, default.
# extglob is on before the function is parsed (its patterns use +(...)).
shopt -s extglob
classify() {
    case $1 in
        [0-9]|[1-9][0-9]) echo "$1: small number" ;;
        +([0-9])) echo "$1: big number" ;;
        [a-z]*) echo "$1: lower word" ;;
        [[:upper:]]*) echo "$1: upper word" ;;
        *.txt | *.md) echo "$1: text file" ;;
        "") echo "empty" ;;
        *) echo "$1: something else" ;;
    esac
}
for w in 7 42 1234 hello World notes.md '' '?!'; do classify "$w"; done
case yes in
    y*) echo "starts with y" ;&
    n*) echo "falls through without testing" ;;
    *) echo "not reached" ;;
esac
case abc in
    a*) echo "a*" ;;&
    *b*) echo "*b*" ;;&
    *z*) echo "*z*" ;;&
    *) echo "catch-all after ;;&" ;;
esac
x='*'
case star in $x) echo "unquoted variable is a pattern" ;; esac
case star in "$x") echo "no" ;; *) echo "quoted variable is literal" ;; esac
case "a b" in "a b") echo "spaces in a quoted pattern" ;; esac
case x in
esac
echo "empty case status $?"
