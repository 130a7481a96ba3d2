package contract

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
)

// TunnelEnv is the deploy tool's variable that forwards ports of its
// container's loopback: PORT=HOST:PORT, comma-separated. Its presence, even
// empty, says that the process's loopback is not the user's machine's, so an
// address on it that no forward covers is an error.
const TunnelEnv = "TODOCTL_TUNNELS"

// Forward sends connections to the loopback's Port on to Target (host:port).
type Forward struct {
	Port   int
	Target string
}

// FormatTunnels is TunnelEnv's value for forwards, in port order.
func FormatTunnels(fs []Forward) string {
	fs = slices.SortedFunc(slices.Values(fs), func(a, b Forward) int { return a.Port - b.Port })
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = strconv.Itoa(f.Port) + "=" + f.Target
	}
	return strings.Join(parts, ",")
}

// ParseTunnels reads TunnelEnv's value.
func ParseTunnels(value string) ([]Forward, error) {
	var fs []Forward
	for part := range strings.SplitSeq(value, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		port, target, ok := strings.Cut(part, "=")
		p, err := strconv.Atoi(port)
		if !ok || err != nil || p < 1 || p > 65535 {
			return nil, fmt.Errorf("%s: %q is not PORT=HOST:PORT", TunnelEnv, part)
		}
		if _, _, err := net.SplitHostPort(target); err != nil {
			return nil, fmt.Errorf("%s: %q: %w", TunnelEnv, part, err)
		}
		fs = append(fs, Forward{Port: p, Target: target})
	}
	return fs, nil
}

// IsLoopback reports whether host names the local machine's loopback:
// localhost and its subdomains (RFC 6761), or a loopback address.
func IsLoopback(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
