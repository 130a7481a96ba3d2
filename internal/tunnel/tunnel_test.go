package tunnel

import (
	"bufio"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/todo-app/todo-app/ci/contract"
)

func TestReachable(t *testing.T) {
	forwarded := []int{6443, 5000}
	for _, tt := range []struct {
		address string
		want    string // "" reachable, else part of the error
	}{
		{"https://127.0.0.1:6443", ""},
		{"https://127.0.0.1:36789", "--tunnel=tcp://127.0.0.1:36789"},
		{"http://localhost", "--tunnel=tcp://localhost:80"},
		{"https://[::1]:8443", "--tunnel=tcp://[::1]:8443"},
		{"localhost:5000", ""},
		{"localhost:5001", "--tunnel=tcp://localhost:5001"},
		{"http://kind.localhost:8080", "--tunnel=tcp://kind.localhost:8080"},
		{"https://192.168.49.2:8443", ""},
		{"http://todo.local", ""},
		{"ghcr.io", ""},
		{"localhost", "give its port"},
	} {
		err := Reachable("the thing", tt.address, forwarded)
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("Reachable(%s) = %v, want %q", tt.address, err, tt.want)
		}
	}
}

// A forward carries a conversation both ways, and the target sees the end of
// what was sent (a half close) while its answer still comes back.
func TestStartForwards(t *testing.T) {
	target, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	go func() {
		for {
			c, err := target.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				line, _ := bufio.NewReader(c).ReadString('\n')
				c.Write([]byte("echo " + line))
			}()
		}
	}()
	free, _ := net.Listen("tcp", "127.0.0.1:0")
	port := free.Addr().(*net.TCPAddr).Port
	free.Close()
	if err := Start(t.Context(), []contract.Forward{{Port: port, Target: target.Addr().String()}}); err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"127.0.0.1", "localhost"} {
		c, err := net.Dial("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("hello\n"))
		c.(*net.TCPConn).CloseWrite()
		got, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if got != "echo hello\n" {
			t.Errorf("through %s: %q", host, got)
		}
	}
}

// A port in use when the tunnel starts: it waits for the port, up to
// heldPortWait, as for a connection in TIME_WAIT, and says so when it is
// still taken.
func TestStartWaitsForAHeldPort(t *testing.T) {
	heldPortWait = 3 * time.Second
	t.Cleanup(func() { heldPortWait = 70 * time.Second })
	for _, tt := range []struct {
		name    string
		holdFor time.Duration
		wantErr string
	}{
		{name: "released in time", holdFor: 1500 * time.Millisecond},
		{name: "held past the wait", holdFor: 6 * time.Second, wantErr: "address already in use"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			held, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			port := held.Addr().(*net.TCPAddr).Port
			release := time.AfterFunc(tt.holdFor, func() { held.Close() })
			defer func() { release.Stop(); held.Close() }()
			start := time.Now()
			err = Start(t.Context(), []contract.Forward{{Port: port, Target: "127.0.0.1:1"}})
			took := time.Since(start)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Start: %v", err)
			case tt.wantErr == "" && took < tt.holdFor:
				t.Fatalf("Start returned after %s, before the port was free at %s", took, tt.holdFor)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			case tt.wantErr != "" && took < heldPortWait:
				t.Fatalf("gave up after %s, before the %s wait", took, heldPortWait)
			}
		})
	}
}
