package localrest

// closest returns the candidate most similar to target, if its similarity
// (1 - edit distance / longer length) reaches minScore, else "". PostgREST
// uses a fuzzy set for its "Perhaps you meant" hints; this is close enough
// to suggest the same names for the typos people make.
func closest(target string, candidates []string, minScore float64) string {
	best, bestScore := "", minScore
	for _, c := range candidates {
		if score := similarity(target, c); score >= bestScore && (best == "" || score > bestScore) {
			best, bestScore = c, score
		}
	}
	return best
}

func similarity(a, b string) float64 {
	ra, rb := []rune(a), []rune(b)
	longer := max(len(ra), len(rb))
	if longer == 0 {
		return 1
	}
	return 1 - float64(levenshtein(ra, rb))/float64(longer)
}

func levenshtein(a, b []rune) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
