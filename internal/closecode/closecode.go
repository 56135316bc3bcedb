// Package closecode tells which WebSocket close codes a peer may send.
//
// gobwas/ws checks against RFC 6455's original list and so rejects 1012
// (service restart) and 1013 (try again later), which the IANA registry
// added and which servers, suzaku included, send to make clients
// reconnect. Browsers accept them; so must we, on both sides.
package closecode

// Valid reports whether a close frame may carry code: the codes defined
// by RFC 6455 and the IANA registry (1000–1003, 1007–1014), and the ranges
// for libraries and applications (3000–4999). 1004–1006 and 1015 must
// never be sent.
func Valid(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}
