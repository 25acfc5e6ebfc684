package funnel

import (
	"slices"
	"strconv"
	"strings"
)

// A histogram is kept in the day's counter row as text: "bucket:count"
// pairs, space-separated, in bucket order ("12:3 13:1"). A day and step has
// a few dozen buckets at most.

// ParseHistogram adds the pairs of an encoded histogram to into; malformed
// pairs are skipped.
func ParseHistogram(s string, into map[int]int64) {
	for _, pair := range strings.Fields(s) {
		b, n, ok := strings.Cut(pair, ":")
		if !ok {
			continue
		}
		bi, err1 := strconv.Atoi(b)
		ni, err2 := strconv.ParseInt(n, 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		into[bi] += ni
	}
}

// FormatHistogram encodes a histogram.
func FormatHistogram(h map[int]int64) string {
	keys := make([]int, 0, len(h))
	for b, n := range h {
		if n != 0 {
			keys = append(keys, b)
		}
	}
	slices.Sort(keys)
	var sb strings.Builder
	for i, b := range keys {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(strconv.Itoa(b))
		sb.WriteByte(':')
		sb.WriteString(strconv.FormatInt(h[b], 10))
	}
	return sb.String()
}

// AddToHistogram returns the encoded histogram s with one more in bucket b.
func AddToHistogram(s string, b int) string {
	h := map[int]int64{}
	ParseHistogram(s, h)
	h[b]++
	return FormatHistogram(h)
}
