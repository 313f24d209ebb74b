# getopts: flags, arguments, clustered flags, unknown options, missing arguments, silent mode.
parse() {
    local OPTIND opt verbose=0 name=none level=1
    while getopts "vn:l:" opt; do
        case $opt in
            v) verbose=$((verbose + 1)) ;;
            n) name=$OPTARG ;;
            l) level=$OPTARG ;;
            *) echo "  bad option (opt=$opt)"; ;;
        esac
    done
    shift $((OPTIND - 1))
    echo "  verbose=$verbose name=$name level=$level rest=[$*]"
}
echo "simple:"; parse -v -n alice file1
echo "clustered:"; parse -vvn bob -l3 -- -notanoption
echo "unknown:"; parse -x -v
echo "missing arg:"; parse -n
silent() {
    local OPTIND opt
    while getopts ":a:b" opt; do
        case $opt in
            a) echo "  a=$OPTARG" ;;
            b) echo "  b set" ;;
            :) echo "  -$OPTARG needs an argument" ;;
            \?) echo "  unknown -$OPTARG" ;;
        esac
    done
}
echo "silent:"; silent -b -z -a
echo "silent ok:"; silent -a value -b
set -- -q positional
getopts q flag && echo "from \$@: $flag OPTIND=$OPTIND"
