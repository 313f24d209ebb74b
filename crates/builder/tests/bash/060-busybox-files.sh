# File utilities from bash: ls, cp, mv, rm, mkdir, touch, ln, stat, basename, dirname.
cd /tmp
mkdir -p work/sub
echo data > work/file.txt
cp work/file.txt work/copy.txt
mv work/copy.txt work/sub/moved.txt
ln -s ../file.txt work/sub/link
ls work work/sub
ls -1 work/sub | wc -l
cat work/sub/link
readlink work/sub/link
stat -c '%s %F' work/file.txt
stat -c '%F %a' work/sub
[[ -L work/sub/link ]] && echo "is a symlink"
[[ -f work/sub/link ]] && echo "and resolves to a file"
rm work/sub/link
ls work/sub
basename /a/b/c.tar.gz .gz
dirname /a/b/c.tar.gz
touch -d '2001-02-03 04:05:06' work/old
stat -c '%y' work/old | cut -c1-19
ls -d work/*
rm -r work
ls work 2>&1
echo "status $?"
du -s /corpus/data | cut -f2
head -n 2 /corpus/data/people.csv | tail -n 1
ls /corpus/data | head -n 3
ls /corpus/*.sh | tail -n 1 | grep -c sh
