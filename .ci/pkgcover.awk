# Reads a Go cover profile (possibly merged from several test binaries, with
# the same block listed more than once) and prints each package's coverage.
NR > 1 {
	split($1, loc, ":")
	file = loc[1]
	pkg = file
	sub(/\/[^\/]*$/, "", pkg)
	stmts[$1] = $2
	owner[$1] = pkg
	if ($3 > 0) covered[$1] = 1
}
END {
	for (b in stmts) {
		total[owner[b]] += stmts[b]
		if (b in covered) hit[owner[b]] += stmts[b]
	}
	for (p in total) printf "%5.1f %s\n", 100 * hit[p] / total[p], p
}
