package static

import "strings"

// negotiate picks the variant to send for an Accept-Encoding header value
// (RFC 9110 §12.5.3): the one whose coding has the highest q-value above
// zero, the earlier in vs (br before gzip) on a tie, or nil for the
// original bytes. A coding not listed takes the q-value of "*", if any,
// and is otherwise not acceptable; "x-gzip" means gzip. A malformed
// q-value counts as 0.
func negotiate(acceptEncoding string, vs []variant) *variant {
	if acceptEncoding == "" || len(vs) == 0 {
		return nil
	}
	const unset = -1
	qbr, qgzip, qany := unset, unset, unset
	for part := range strings.SplitSeq(acceptEncoding, ",") {
		coding, params, _ := strings.Cut(part, ";")
		q := qvalue(params)
		switch strings.ToLower(strings.TrimSpace(coding)) {
		case "br":
			qbr = q
		case "gzip", "x-gzip":
			qgzip = max(qgzip, q)
		case "*":
			qany = q
		}
	}
	var best *variant
	bestQ := 0
	for i := range vs {
		q := unset
		switch vs[i].encoding {
		case "br":
			q = qbr
		case "gzip":
			q = qgzip
		}
		if q == unset {
			q = qany
		}
		if q > bestQ {
			best, bestQ = &vs[i], q
		}
	}
	return best
}

// qvalue parses the q parameter of an Accept-Encoding element's
// parameters (";q=0.5"), in thousandths: 1000 if absent, 0 if malformed.
func qvalue(params string) int {
	for p := range strings.SplitSeq(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		return parseQ(strings.TrimSpace(v))
	}
	return 1000
}

// parseQ parses a qvalue: "0" to "1", at most three decimals.
func parseQ(s string) int {
	if s == "" || s[0] != '0' && s[0] != '1' {
		return 0
	}
	whole := int(s[0] - '0')
	frac := s[1:]
	if frac == "" {
		return whole * 1000
	}
	if frac[0] != '.' || len(frac) > 4 {
		return 0
	}
	q := whole * 1000
	scale := 100
	for i := 1; i < len(frac); i++ {
		d := frac[i]
		if d < '0' || d > '9' {
			return 0
		}
		q += int(d-'0') * scale
		scale /= 10
	}
	if q > 1000 {
		return 0
	}
	return q
}
