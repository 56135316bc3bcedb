package nats

import (
	"errors"
	"fmt"
	"strings"
)

// Subjects of a cluster with prefix p: every node subscribes to p+".all",
// where Broadcast publishes, and to p+".node."+nodeToken(its name), where
// DirectBroadcast to it publishes.
const (
	allToken  = ".all"
	nodeToken = ".node."
)

// checkPrefix reports why p cannot prefix subjects: it must be one or more
// non-empty tokens separated by dots, without wildcards or whitespace.
func checkPrefix(p string) error {
	if p == "" {
		return errors.New("empty subject prefix")
	}
	for tok := range strings.SplitSeq(p, ".") {
		if tok == "" || tok == "*" || tok == ">" || strings.ContainsAny(tok, " \t\r\n\f\v*>") {
			return fmt.Errorf("subject prefix %q: token %q is empty, a wildcard or has whitespace", p, tok)
		}
	}
	return nil
}

// subjectToken returns node as one subject token: bytes outside
// [A-Za-z0-9_\-@:+=~] are escaped as %XX (upper-case hex), so that dots,
// wildcards and whitespace in a name ("web-1@10.0.0.2") cannot change the
// subject's shape, and different names give different tokens.
func subjectToken(node string) string {
	i := 0
	for i < len(node) && tokenSafe(node[i]) {
		i++
	}
	if i == len(node) {
		return node
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(node) + 8)
	b.WriteString(node[:i])
	for ; i < len(node); i++ {
		c := node[i]
		if tokenSafe(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xf])
	}
	return b.String()
}

func tokenSafe(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("_-@:+=~", c) >= 0
}
