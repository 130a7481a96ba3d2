// Package tunnel gives a process in a container the loopback ports of the
// machine that started the pipeline. The engine's containers cannot reach that
// machine's 127.0.0.1; the Dagger CLI can tunnel a port of it into the
// pipeline as a service (--tunnel=tcp://127.0.0.1:6443), bound in the
// container under a host name. Forwarding 127.0.0.1:PORT inside the container
// to that service makes every address that names the machine's loopback (a
// kind or k3d kubeconfig's server, a registry on localhost, an Ingress
// port-forwarded to localhost) work unchanged: TLS names, Host headers and
// image references included. The forwards come from contract.TunnelEnv,
// which the Dagger module writes.
package tunnel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/todo-app/todo-app/ci/contract"
)

// Ports are the forwarded ports.
func Ports(fs []contract.Forward) []int {
	ports := make([]int, len(fs))
	for i, f := range fs {
		ports[i] = f.Port
	}
	return ports
}

// Reachable checks that an address (a URL, or HOST:PORT) is reachable from the
// pipeline's containers: not on the loopback, or on a forwarded port of it.
// what names the address in the error, flag the option that adds a tunnel.
func Reachable(what, address string, forwarded []int) error {
	host, port := address, ""
	if u, err := url.Parse(address); err == nil && u.Host != "" {
		host, port = u.Hostname(), u.Port()
		if port == "" {
			port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
	} else if h, p, err := net.SplitHostPort(address); err == nil {
		host, port = h, p
	}
	if !contract.IsLoopback(host) {
		return nil
	}
	if p, err := strconv.Atoi(port); err == nil && slices.Contains(forwarded, p) {
		return nil
	}
	if port == "" {
		return fmt.Errorf("%s %s is on this machine's loopback, which the pipeline's containers cannot reach: give its port", what, address)
	}
	return fmt.Errorf("%s %s is on this machine's loopback, which the pipeline's containers cannot reach: "+
		"tunnel it with --tunnel=tcp://%s", what, address, net.JoinHostPort(host, port))
}

// heldPortWait bounds how long Start waits for a port in use: longer than
// Linux keeps a closed connection in TIME_WAIT (60 s).
var heldPortWait = 70 * time.Second

// Start listens on the loopback for every forward and copies each connection
// to its target until ctx ends. It returns once all listen.
func Start(ctx context.Context, fs []contract.Forward) error {
	var listeners []net.Listener
	for _, f := range fs {
		ln, err := listen(ctx, "127.0.0.1", f.Port)
		if err != nil {
			closeAll(listeners)
			return fmt.Errorf("tunnel %d: %w", f.Port, err)
		}
		listeners = append(listeners, ln)
		// localhost may resolve to ::1 first; a container without IPv6 simply has no such listener.
		if ln6, err := listen(ctx, "::1", f.Port); err == nil {
			listeners = append(listeners, ln6)
		}
	}
	targets := map[net.Listener]string{}
	for _, ln := range listeners {
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		for _, f := range fs {
			if strconv.Itoa(f.Port) == port {
				targets[ln] = f.Target
			}
		}
	}
	for _, ln := range listeners {
		go serve(ctx, ln, targets[ln])
	}
	go func() {
		<-ctx.Done()
		closeAll(listeners)
	}()
	return nil
}

// listen listens on host:port, waiting up to heldPortWait while the port is
// in use. In a fresh container nothing listens on it, but the engine reuses
// network namespaces: a connection an earlier container made from that port
// (a loopback port a kind or k3d cluster is given is in the ephemeral range)
// may hold it in TIME_WAIT for a minute, which keeps a listener off it.
func listen(ctx context.Context, host string, port int) (net.Listener, error) {
	address := net.JoinHostPort(host, strconv.Itoa(port))
	deadline := time.Now().Add(heldPortWait)
	for {
		ln, err := net.Listen("tcp", address)
		if err == nil || !errors.Is(err, syscall.EADDRINUSE) || time.Now().After(deadline) {
			return ln, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func closeAll(ls []net.Listener) {
	for _, ln := range ls {
		ln.Close()
	}
}

func serve(ctx context.Context, ln net.Listener, target string) {
	var d net.Dialer
	for {
		conn, err := ln.Accept()
		if err != nil {
			return // closed
		}
		go func() {
			defer conn.Close()
			upstream, err := d.DialContext(ctx, "tcp", target)
			if err != nil {
				return
			}
			defer upstream.Close()
			pipe(conn, upstream)
		}()
	}
}

// pipe copies both ways; each side's end of stream is passed on as a half close.
func pipe(a, b net.Conn) {
	var wg sync.WaitGroup
	for _, dir := range [][2]net.Conn{{a, b}, {b, a}} {
		wg.Go(func() {
			_, err := io.Copy(dir[0], dir[1])
			if tc, ok := dir[0].(*net.TCPConn); ok && (err == nil || errors.Is(err, net.ErrClosed)) {
				tc.CloseWrite()
			} else {
				dir[0].Close()
			}
		})
	}
	wg.Wait()
}
