package dns

import "strings"

// label turns s into one RFC 1123 DNS label as Mesos-DNS does: lowercase, every character
// other than a-z, 0-9 and '-' replaced by '-' (dots included, so Marathon's task name
// "cart.shop" becomes "cart-shop"), no leading or trailing '-', at most 63 characters. It
// returns "" when nothing is left.
func label(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			b = append(b, c+'a'-'A')
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
			b = append(b, c)
		default:
			b = append(b, '-')
		}
	}
	out := strings.Trim(string(b), "-")
	if len(out) > 63 {
		out = strings.TrimRight(out[:63], "-")
	}
	return out
}

// domainFrag turns a dotted name (a framework's name) into labels joined by dots, each
// sanitised by label; empty labels are dropped.
func domainFrag(s string) string {
	parts := strings.Split(s, ".")
	out := parts[:0]
	for _, p := range parts {
		if l := label(p); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, ".")
}
