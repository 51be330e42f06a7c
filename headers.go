package symauth

import (
	"maps"
	"net/http"
	"strings"

	"github.com/symauth/symauth/internal/login"
)

// The header copy of the warm path. A request's headers are copied for every
// request sent with tokens, since the caller's map must not change, so this
// is the middleware's main cost beyond the floor of a new map.

func hasTokenHeader(h http.Header) bool {
	for k := range h {
		if isTokenHeader(k, 0) {
			return true
		}
	}
	return false
}

// dropped names the headers that cloneHeaderWithout leaves out, in any
// letter case, beyond the token headers.
type dropped uint8

const (
	dropAuthorization dropped = 1 << iota // a Common JWT request's: symauth sets its own
	dropTraceID                           // a traced request's X-Trace-Id: symauth sets it once, canonically
)

// cloneHeaderWithout copies h, leaving out the token headers in any letter
// case — and those of drop too — with room for extra more entries.
//
// What protects h: the copy is a map of its own, so entries set or deleted in
// it never reach h; its value slices share h's arrays but have no spare
// capacity (any that had some are cut to their length), so an append made
// further down the stack copies instead of writing into h's arrays.
//
// When h has more than fewHeaders entries and adding extra entries to a
// clone of h would not make the clone grow, h is cloned with maps.Clone,
// which copies the map's storage without hashing a key again, and the token
// headers are deleted from the clone; otherwise the entries are inserted one
// by one into a map made with room for them all (for a map of one or two,
// copying its whole storage costs more than the insertions it saves). Either
// way the result is the same map.
func cloneHeaderWithout(h http.Header, extra int, drop dropped) http.Header {
	if len(h) <= fewHeaders || growsWhenCloned(len(h), extra) {
		out := make(http.Header, len(h)+extra)
		for k, v := range h {
			if !isTokenHeader(k, drop) {
				out[k] = v[:len(v):len(v)]
			}
		}
		return out
	}
	out := maps.Clone(h)
	for k, v := range out {
		switch {
		case isTokenHeader(k, drop):
			delete(out, k)
		case cap(v) != len(v):
			out[k] = v[:len(v):len(v)]
		}
	}
	return out
}

// fewHeaders is the number of entries up to which a header is copied entry by
// entry even when a clone would not grow (BenchmarkWarm in parallel, 1 caller
// header: 1.06× the floor, against 1.15× with a clone).
const fewHeaders = 2

// growsWhenCloned reports whether a clone of a map of n entries grows when
// extra more are added, for a map that grew one insertion at a time from
// empty, as a request's headers do: such a map keeps its entries in 8 slots
// up to 8 of them, and beyond in a table of 16, 32 … slots filled to at
// most 7/8, and maps.Clone keeps the capacity. A wrong guess (a map made with
// a size hint, say) costs time, never correctness.
func growsWhenCloned(n, extra int) bool {
	if n <= 8 {
		return n+extra > 8
	}
	slots := 16
	for n > slots*7/8 {
		slots *= 2
	}
	return n+extra > slots*7/8
}

// isTokenHeader reports whether k names a token header in any letter case,
// or one of drop. The length is compared first: most header names differ
// from all four in length, and cost no comparison of their letters; the
// ones of drop cost none either when drop lacks them.
func isTokenHeader(k string, drop dropped) bool {
	switch len(k) {
	case len(HeaderSessionToken):
		return strings.EqualFold(k, HeaderSessionToken)
	case len(HeaderKeyManagerToken):
		return strings.EqualFold(k, HeaderKeyManagerToken)
	case len(headerAuthorization):
		return drop&dropAuthorization != 0 && strings.EqualFold(k, headerAuthorization)
	case len(login.HeaderTraceID):
		return drop&dropTraceID != 0 && strings.EqualFold(k, login.HeaderTraceID)
	}
	return false
}
