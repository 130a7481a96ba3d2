package tunnel

import (
	"bufio"
	"net"
	"strconv"
	"strings"
	"testing"

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
