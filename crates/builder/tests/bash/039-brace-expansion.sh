# Brace expansion: lists, sequences with steps, padding, letters, nesting, preambles.
echo {a,b,c}
echo file{1,2,3}.txt
echo {1..5} {5..1} {0..20..5} {10..-10..7}
echo {01..10} {001..3}
echo {a..e} {z..v} {a..z..5}
echo pre{x,y{1,2},z}post
echo {a,b}{1,2}
echo "{not,expanded}" '{nor,this}'
echo {single}
echo {1..3}{a..b}
mkdir -p /tmp/brace/{src,test}/{lib,bin}
find /tmp/brace | sort
echo x{,,}y
echo {a..c}-{1..2}
n=3
echo {1..$n}
eval echo {1..$n}
echo {x..z..0}
echo {-3..3}
